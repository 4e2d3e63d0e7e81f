/// Where one tensor lives: its file, type, shape and absolute byte range in that file.
public struct TensorInfo: Sendable, Equatable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    /// Absolute byte offsets into the file (header included).
    public let byteRange: Range<Int>
    public let file: String

    public var elementCount: Int { shape.reduce(1, *) }
    public var rank: Int { shape.count }
}
