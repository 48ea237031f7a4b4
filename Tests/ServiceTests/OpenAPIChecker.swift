import Foundation
import LedgerEvents
import LoopbackHTTP
import StratosService
import XCTest

/// Checks live responses against `docs/openapi.yaml`: the path and method are documented, the
/// status is one of the documented ones, the content type is the documented one, and the
/// documented required JSON fields are present.
final class OpenAPIChecker {
    let document: YAML
    private(set) var exercised: Set<String> = []

    init() throws {
        var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) {
            dir = dir.deletingLastPathComponent()
        }
        document = try YAML.parse(String(contentsOf: dir.appendingPathComponent("docs/openapi.yaml"), encoding: .utf8))
    }

    var documentedOperations: Set<String> {
        var out = Set<String>()
        for (path, item) in document["paths"]?.entries ?? [] {
            for (method, _) in item.entries { out.insert("\(method.uppercased()) \(path)") }
        }
        return out
    }

    /// Path template → its documented methods (upper case).
    var documentedMethods: [String: Set<String>] {
        var out: [String: Set<String>] = [:]
        for (path, item) in document["paths"]?.entries ?? [] {
            out[path] = Set(item.entries.map { $0.0.uppercased() })
        }
        return out
    }

    private func resolve(_ node: YAML) -> YAML {
        guard let ref = node["$ref"]?.scalar, ref.hasPrefix("#/") else { return node }
        var current = document
        for part in ref.dropFirst(2).split(separator: "/") { current = current[String(part)] ?? .scalar("") }
        return resolve(current)
    }

    /// Fails the test (naming the operation) when `response` is not what the document says.
    func check(
        _ method: String, _ template: String, _ response: LoopbackHTTPClient.Response,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let operation = "\(method) \(template)"
        exercised.insert(operation)
        guard let op = document["paths"]?[template]?[method.lowercased()] else {
            XCTFail("\(operation) is not in docs/openapi.yaml", file: file, line: line)
            return
        }
        guard let documented = op["responses"]?[String(response.status)] else {
            XCTFail(
                "\(operation) answered \(response.status), which the document does not list: \(response.text.prefix(300))", file: file, line: line)
            return
        }
        let spec = resolve(documented)
        let contentType = (response.headers["content-type"] ?? "").split(separator: ";").first.map(String.init) ?? ""
        let contents = spec["content"]?.entries ?? []
        guard let (_, media) = contents.first(where: { $0.0 == contentType }) else {
            XCTFail("\(operation) \(response.status): content type \(contentType) not documented (\(contents.map(\.0)))", file: file, line: line)
            return
        }
        guard let schemaNode = media["schema"] else { return }
        let schema = resolve(schemaNode)
        let required = schema["required"]?.list.compactMap(\.scalar) ?? []
        guard !required.isEmpty else { return }
        guard case .object(let body)? = try? JSONValue.parse(response.body) else {
            XCTFail("\(operation) \(response.status): body is not a JSON object: \(response.text.prefix(300))", file: file, line: line)
            return
        }
        for field in required where body[field] == nil {
            XCTFail("\(operation) \(response.status): required field \(field) missing: \(response.text.prefix(300))", file: file, line: line)
        }
    }
}
