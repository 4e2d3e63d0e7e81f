/// A fixed-size float32 buffer with a stable address. Weights, activations and KV caches live in
/// these so hot loops run on raw pointers: no copy-on-write, no bounds checks, no hidden copies.
final class FloatBuffer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(count: Int, zeroed: Bool = true) {
        self.count = count
        pointer = .allocate(capacity: Swift.max(count, 1))
        if zeroed { pointer.initialize(repeating: 0, count: Swift.max(count, 1)) }
    }

    convenience init(_ values: [Float]) {
        self.init(count: values.count, zeroed: values.isEmpty)
        values.withUnsafeBufferPointer { src in
            if let base = src.baseAddress { pointer.update(from: base, count: values.count) }
        }
    }

    deinit { pointer.deallocate() }

    var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }

    subscript(i: Int) -> Float {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }
}
