import Foundation
import Reports
import TestSupport
import XCTest

/// Everything the report shows from files (labels, task names, paths, notes) is text in a real
/// browser: headless Chromium loads the page and its DOM holds no element the strings spelled.
final class BrowserEscapingTests: XCTestCase {
    static let hostile = ["<script>alert(1)</script>", "<img src=x onerror=alert(2)>", "\"><svg onload=alert(3)>", "</title><iframe src=javascript:alert(4)>"]

    private func chromium() -> String? {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            for dir in ["/usr/bin", "/usr/local/bin"] where FileManager.default.isExecutableFile(atPath: "\(dir)/\(name)") {
                return "\(dir)/\(name)"
            }
        }
        return nil
    }

    func testHostileStringsRenderAsTextInChromium() throws {
        guard let browser = chromium() else {
            throw XCTSkip("no headless Chromium (apt-get install chromium; .ci/run installs it)")
        }
        var model = RenderingTests.sampleModel()
        model.name = Self.hostile[3]
        model.base = "/models/" + Self.hostile[2]
        model.notes.append(Self.hostile[0])
        model.targets = [Self.hostile[1]]
        model.targetMetrics = [Self.hostile[1]: "acc"]
        for i in model.rows.indices where !model.rows[i].isBase {
            model.rows[i].label = Self.hostile[i % Self.hostile.count] + "-\(i)"
        }
        let dir = Fixtures.temporaryDirectory("browser-escaping")
        defer { try? FileManager.default.removeItem(at: dir) }
        let page = dir.appendingPathComponent("index.html")
        try HTMLReport.render(model).write(to: page, atomically: false, encoding: .utf8)
        let r = Subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=\(dir.path)/profile",
                                "--dump-dom", page.absoluteString], timeout: 120)
        XCTAssertFalse(r.timedOut)
        let dom = r.output
        XCTAssertTrue(dom.contains("</html>"), "Chromium printed no DOM: \(dom.suffix(1000))")
        // Markup only: the escaped text itself still spells "onerror=" and is fine.
        for pattern in ["<script", "<img", "<iframe", #"<[^>]+\son(error|load)\s*="#] {
            XCTAssertNil(dom.range(of: pattern, options: [.regularExpression, .caseInsensitive]),
                         "the DOM has \(pattern): a string became markup")
        }
        // The strings are there, as text.
        XCTAssertTrue(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), String(dom.prefix(3000)))
        XCTAssertTrue(dom.contains("&lt;img src=x onerror=alert(2)&gt;"))
    }
}
