import Foundation

/// Paths of the committed fixtures, found from this source file's location so tests run
/// from any working directory.
public enum Fixtures {
    public static var packageRoot: URL {
        if let override = ProcessInfo.processInfo.environment["FORGETLENS_ROOT"] {
            return URL(fileURLWithPath: override)
        }
        // Tests/TestSupport/Fixtures.swift -> package root
        return URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    public static var root: URL { packageRoot.appendingPathComponent("Tests/Fixtures") }

    public static func model(_ name: String) -> String { root.appendingPathComponent("models/\(name)").path }

    public static func reference(_ path: String) -> URL { root.appendingPathComponent("reference/\(path)") }

    /// A fresh temporary directory, removed by the caller's teardown if it wants.
    public static func temporaryDirectory(_ label: String = "forgetlens-test") -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(label)-\(UUID().uuidString.prefix(8))")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    public static func json(_ url: URL) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url))
    }
}
