import ArgumentParser
import Foundation
import StratosEconomics
import StratosProjections

/// `stratos-ledger rules`: the built-in rule sets and rule-set files (docs/RULE-SETS.md).
struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rules",
        abstract: "List, show and check rule sets (built-in names or rule-set files).",
        subcommands: [RulesListCommand.self, RulesShowCommand.self, RulesCheckCommand.self])
}

struct RulesListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "The built-in rule sets and their sha256.")

    func run() throws {
        for r in RuleSet.all { print("\(r.name)  sha256 \(r.sha256)") }
    }
}

struct RulesShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Every parameter of a rule set: as a fully explicit rule-set file (json) or a table (text).")

    @Argument(help: "A built-in rule set's name or a rule-set file.") var rules: String
    @Option(help: "json (a rule-set file, every parameter explicit), canonical (the text rulesSha256 is of) or text.")
    var format: String = "json"

    func validate() throws {
        if !["json", "canonical", "text"].contains(format) { throw ValidationError("--format must be json, canonical or text") }
    }

    func run() throws {
        let r = try resolveRules(rules)
        switch format {
        case "json": print(r.prettyJSON, terminator: "")
        case "canonical": print(r.canonicalJSON)
        default: print(r.textTable, terminator: "")
        }
    }
}

struct RulesCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate rule-set files (given together, one may extend another); print each one's name and sha256.")

    @Argument(help: "Rule-set files.") var files: [String]

    func validate() throws { if files.isEmpty { throw ValidationError("give at least one file") } }

    func run() throws {
        let sets: [RuleSet]
        do { sets = try RuleSetFiles.load(files) } catch let e as RuleSetError { throw CLIError("\(e)") }
        for (file, r) in zip(files, sets) { print("\(file): \(r.name) sha256 \(r.sha256), \(r.changes.count) change(s)") }
    }
}

/// `--rules NAME|FILE` everywhere: a built-in name or a rule-set file; errors name the file and key.
func resolveRules(_ spec: String) throws -> RuleSet {
    do { return try RuleSetFiles.resolve(spec) } catch let e as RuleSetError { throw CLIError("\(e)") }
}
