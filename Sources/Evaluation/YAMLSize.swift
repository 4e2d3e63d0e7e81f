import Yams

/// Bounds the size of a composed YAML document. Yams resolves an alias to a shared copy of its
/// anchor, so a 1 KB file of nested aliases ("billion laughs") composes cheaply but expands to
/// billions of nodes as soon as anything walks it (minutes at GBs of RSS for a task file). Real
/// task and experiment files have a few hundred nodes; the walk stops at the limit, so checking
/// costs at most `limit` steps whatever the file.
public enum YAMLSize {
    public static let limit = 100_000

    /// Nil when the document has at most `limit` nodes (aliases counted as expanded), else the
    /// message to show.
    public static func violation(_ root: Node, limit: Int = YAMLSize.limit) -> String? {
        var stack: [Node] = [root]
        var count = 0
        while let node = stack.popLast() {
            count += 1
            if count > limit {
                return "the document expands to more than \(limit) YAML nodes (aliases of aliases?); "
                    + "a task or experiment file needs a few hundred"
            }
            switch node {
            case .scalar, .alias: break
            case .sequence(let s): stack.append(contentsOf: s)
            case .mapping(let m):
                for (k, v) in m { stack.append(k); stack.append(v) }
            }
        }
        return nil
    }
}
