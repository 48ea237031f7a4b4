import Foundation
import StratosEconomics

/// `--rules NAME|FILE` (docs/RULE-SETS.md): a built-in rule set by name, or a rule-set file by
/// path. A file's `extends` names a built-in set, another file given with it, or a file
/// `NAME.json` in the same folder.
public enum RuleSetFiles {
    /// The rule set `spec` names: a built-in name, else a path to a file.
    public static func resolve(_ spec: String) throws -> RuleSet {
        if let builtIn = RuleSet.named(spec) { return builtIn }
        guard FileManager.default.fileExists(atPath: spec) else {
            throw RuleSetError(
                file: nil, path: "",
                message:
                    "unknown rule set '\(spec)': neither a built-in (\(RuleSet.all.map(\.name).joined(separator: ", "))) nor a rule-set file")
        }
        return try load([spec])[0]
    }

    /// The rule sets of `paths`, resolved together (each may extend another), in order.
    public static func load(_ paths: [String]) throws -> [RuleSet] {
        var files: [RuleSetFile] = []
        var seen = Set<String>()
        func read(_ path: String) throws -> RuleSetFile {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
                throw RuleSetError(file: path, path: "", message: "cannot read: \(error.localizedDescription)")
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw RuleSetError(file: path, path: "", message: "not UTF-8 text")
            }
            return try RuleSet.parseFile(text, file: path)
        }
        for path in paths {
            let f = try read(path)
            files.append(f)
            seen.insert(f.name)
        }
        // Bases that are neither built in nor given: NAME.json next to the file that extends them.
        var i = 0
        while i < files.count {
            if let parent = files[i].extends, RuleSet.named(parent) == nil, !seen.contains(parent), let from = files[i].file {
                let sibling = URL(fileURLWithPath: from).deletingLastPathComponent().appendingPathComponent(parent + ".json").path
                if FileManager.default.fileExists(atPath: sibling) {
                    let f = try read(sibling)
                    guard f.name == parent else {
                        throw RuleSetError(
                            file: sibling, path: "name", message: "is '\(f.name)', but \(from) extends '\(parent)' and looked for it here")
                    }
                    files.append(f)
                    seen.insert(f.name)
                }
            }
            i += 1
        }
        return Array(try RuleSet.resolve(files).prefix(paths.count))
    }
}
