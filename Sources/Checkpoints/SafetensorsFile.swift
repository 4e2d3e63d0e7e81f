import Foundation
import JSONReader

/// One .safetensors file, memory-mapped and validated as strictly as the reference
/// implementation: 8-byte little-endian header length, a JSON object header, every tensor's
/// offsets inside the data, contiguous without overlap or gaps, and byte length equal to
/// shape x dtype size.
public final class SafetensorsFile: @unchecked Sendable {
    /// The reference implementation refuses headers over 100 MB; so do we, before allocating.
    public static let maxHeaderBytes = 100_000_000

    public let path: String
    public let tensors: [String: TensorInfo]
    /// Tensor names in file order (ascending offsets).
    public let names: [String]
    public let metadata: [String: String]
    let file: MappedFile

    public convenience init(path: String) throws {
        try self.init(mapped: MappedFile(path: path))
    }

    init(mapped: MappedFile) throws {
        let path = mapped.path
        self.path = path
        self.file = mapped
        guard mapped.size >= 8 else {
            throw CheckpointError(file: path, field: "header length",
                                  "file is \(mapped.size) bytes; a safetensors file starts with an 8-byte header length")
        }
        let headerLength = mapped.bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self).littleEndian
        guard headerLength <= UInt64(Self.maxHeaderBytes) else {
            throw CheckpointError(file: path, field: "header length",
                                  "the first 8 bytes give a header larger than the 100 MB limit of the format (not a safetensors file?)")
        }
        guard headerLength <= UInt64(mapped.size - 8) else {
            throw CheckpointError(file: path, field: "header length",
                                  "the header the first 8 bytes announce runs past the end of the \(mapped.size)-byte file (truncated, or not a safetensors file?)")
        }
        let dataStart = 8 + Int(headerLength)
        let headerBytes = UnsafeRawBufferPointer(rebasing: mapped.bytes[8..<dataStart])
        guard headerBytes.first == UInt8(ascii: "{") else {
            throw CheckpointError(file: path, field: "header", "expected a JSON object starting with '{'")
        }
        let parsed: JSON
        do {
            parsed = try JSONReader.parse(headerBytes)
        } catch {
            throw CheckpointError(file: path, field: "header", "is not valid JSON (\(error))")
        }
        // serde_json reads the header into a map: a name written twice keeps its last entry.
        guard let members = parsed.dictionaryMembers else {
            throw CheckpointError(file: path, field: "header", "expected a JSON object")
        }
        let dataSize = mapped.size - dataStart
        var tensors: [String: TensorInfo] = [:]
        var metadata: [String: String] = [:]
        var relativeRanges: [(name: String, range: Range<Int>)] = []
        for member in members {
            let name = member.key, value = member.value
            if name == "__metadata__" {
                if value.isNull { continue }  // Option<HashMap<String, String>> in the reference: null is none
                guard let entries = value.dictionaryMembers else {
                    throw CheckpointError(file: path, field: "__metadata__", "expected an object of strings")
                }
                for entry in entries {
                    guard let s = entry.value.stringValue else {
                        throw CheckpointError(file: path, field: "__metadata__.\(entry.key)", "expected a string")
                    }
                    metadata[entry.key] = s
                }
                continue
            }
            let entry = try Self.parseEntry(name: name, value: value, path: path, dataSize: dataSize)
            relativeRanges.append((name, entry.range))
            tensors[name] = TensorInfo(name: name, dtype: entry.dtype, shape: entry.shape,
                                       byteRange: (dataStart + entry.range.lowerBound)..<(dataStart + entry.range.upperBound),
                                       file: path)
        }
        relativeRanges.sort { ($0.range.lowerBound, $0.range.upperBound) < ($1.range.lowerBound, $1.range.upperBound) }
        var expectedStart = 0
        for (name, range) in relativeRanges {
            if range.lowerBound < expectedStart {
                throw CheckpointError(file: path, field: "\(name).data_offsets",
                                      "[\(range.lowerBound), \(range.upperBound)] overlaps the previous tensor, which ends at \(expectedStart)")
            }
            if range.lowerBound > expectedStart {
                throw CheckpointError(file: path, field: "\(name).data_offsets",
                                      "starts at \(range.lowerBound) but the previous tensor ends at \(expectedStart): tensors must be contiguous")
            }
            expectedStart = range.upperBound
        }
        if expectedStart != dataSize {
            throw CheckpointError(file: path, field: "data",
                                  "tensors cover \(expectedStart) bytes but the file holds \(dataSize) bytes of data after the header")
        }
        self.tensors = tensors
        self.names = relativeRanges.map(\.name)
        self.metadata = metadata
    }

    private static func parseEntry(name: String, value: JSON, path: String, dataSize: Int)
        throws -> (dtype: DType, shape: [Int], range: Range<Int>) {
        guard case .object = value else {
            throw CheckpointError(file: path, field: name, "expected an object with dtype, shape and data_offsets")
        }
        guard let dtypeName = value["dtype"]?.stringValue else {
            throw CheckpointError(file: path, field: "\(name).dtype", "missing or not a string")
        }
        guard let dtype = DType(rawValue: dtypeName) else {
            throw CheckpointError(file: path, field: "\(name).dtype",
                                  "unknown dtype \"\(dtypeName)\" (expected one of \(DType.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard let shapeValues = value["shape"]?.arrayValue else {
            throw CheckpointError(file: path, field: "\(name).shape", "missing or not an array")
        }
        var shape: [Int] = []
        for d in shapeValues {
            guard let n = integer(d), n >= 0 else {
                let written = shapeValues.map { $0.numberValue?.literal ?? $0.kindDescription }.joined(separator: ", ")
                throw CheckpointError(file: path, field: "\(name).shape", "expected non-negative integers, got [\(written)]")
            }
            shape.append(n)
        }
        guard let offsets = value["data_offsets"]?.arrayValue, offsets.count == 2,
              let begin = integer(offsets[0]), let end = integer(offsets[1]) else {
            throw CheckpointError(file: path, field: "\(name).data_offsets", "expected [begin, end] integers")
        }
        guard begin >= 0, begin <= end else {
            throw CheckpointError(file: path, field: "\(name).data_offsets", "[\(begin), \(end)] is not a valid range")
        }
        guard end <= dataSize else {
            throw CheckpointError(file: path, field: "\(name).data_offsets",
                                  "[\(begin), \(end)] lies outside the \(dataSize) bytes of data (truncated file?)")
        }
        var bytes = dtype.byteSize
        for d in shape {
            let (product, overflow) = bytes.multipliedReportingOverflow(by: d)
            guard !overflow else {
                throw CheckpointError(file: path, field: "\(name).shape", "\(shape) is too large")
            }
            bytes = product
        }
        guard end - begin == bytes else {
            throw CheckpointError(file: path, field: "\(name).data_offsets",
                                  "holds \(end - begin) bytes but shape \(shape) of \(dtype.rawValue) needs \(bytes)")
        }
        return (dtype, shape, begin..<end)
    }

    /// An integer literal (the reference reads usize: 2.0, 1e3 and booleans are refused; a
    /// value beyond Int64 fails as the out-of-range integer it is).
    private static func integer(_ value: JSON) -> Int? {
        value.numberValue?.int
    }

    /// The raw bytes of one tensor of this file (no copy).
    public func rawBytes(_ info: TensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: file.bytes[info.byteRange])
    }

    /// Lets the kernel reclaim a tensor's pages once it has been consumed.
    public func release(_ info: TensorInfo) {
        file.release(range: info.byteRange)
    }
}
