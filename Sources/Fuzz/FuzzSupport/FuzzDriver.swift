import Foundation

/// The entry point every fuzz target shares. Built with `make fuzz` (address sanitizer plus
/// SanitizerCoverage, `-DFUZZING`, linked against libFuzzer's no-main runtime) it hands control
/// to libFuzzer through `LLVMFuzzerRunDriver`, so libFuzzer's own flags work (`-max_total_time`,
/// `-rss_limit_mb`, corpus directories). Built normally it replays the files or directories it is
/// given, which is how the committed corpus and every crash input run as regression tests.
public enum FuzzDriver {
    nonisolated(unsafe) static var body: ((Data) -> Void)?

    public static func main(_ body: @escaping (Data) -> Void) -> Never {
        Self.body = body
        #if FUZZING
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzerTestOneInput))
        #else
        var count = 0
        for path in CommandLine.arguments.dropFirst() {
            for file in files(path) {
                guard let data = FileManager.default.contents(atPath: file) else {
                    FileHandle.standardError.write(Data("cannot read \(file)\n".utf8))
                    exit(2)
                }
                body(data)
                count += 1
            }
        }
        print("replayed \(count) inputs")
        exit(0)
        #endif
    }

    private static func files(_ path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else { return [path] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.sorted().filter { !$0.hasPrefix(".") }.map { path + "/" + $0 }
    }

    /// A scratch file for parsers that read paths (one per process: libFuzzer runs inputs one
    /// after another in a process).
    public static func scratchFile(_ name: String, _ data: Data) -> String {
        let path = NSTemporaryDirectory() + "forgetlens-fuzz-\(getpid())/" + name
        try? FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: path, contents: data)
        return path
    }
}

#if FUZZING
/// libFuzzer's runtime references this symbol even when the driver is given a callback.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    FuzzDriver.body!(size == 0 ? Data() : Data(bytes: data!, count: size))
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32
#endif
