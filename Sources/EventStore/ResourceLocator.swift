import Foundation

/// Finds the project's SQL folders (`Schema/`, `Projections/`) at run time.
///
/// SQL is kept in files rather than Swift strings so it can be read, diffed and checksummed
/// as SQL. The folder is found, in order:
/// 1. from an environment variable (`STRATOS_SCHEMA_DIR`, `STRATOS_PROJECTIONS_DIR`), for
///    installed binaries and containers;
/// 2. by walking up from the executable's folder, then from the current directory, to the
///    first folder that holds both `Package.swift` and the wanted folder (a checkout, where
///    the binary sits under `.build/…`).
public enum ResourceLocator {
    public enum Folder: String, Sendable {
        case schema = "Schema"
        case projections = "Projections"

        public var environmentVariable: String {
            switch self {
            case .schema: "STRATOS_SCHEMA_DIR"
            case .projections: "STRATOS_PROJECTIONS_DIR"
            }
        }
    }

    public struct NotFound: Error, CustomStringConvertible {
        public let folder: Folder
        public let searched: [String]
        public var description: String {
            "cannot find the \(folder.rawValue)/ folder: set \(folder.environmentVariable), or run from the project checkout "
                + "(searched upwards from \(searched.joined(separator: " and ")))"
        }
    }

    /// The absolute path of `folder`.
    public static func path(of folder: Folder, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        let fm = FileManager.default
        if let explicit = environment[folder.environmentVariable], !explicit.isEmpty {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: explicit, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw NotFound(folder: folder, searched: ["\(folder.environmentVariable)=\(explicit) (not a folder)"])
            }
            return URL(fileURLWithPath: explicit).standardizedFileURL.path
        }
        var starts: [URL] = []
        if let exe = Bundle.main.executableURL { starts.append(exe.resolvingSymlinksInPath().deletingLastPathComponent()) }
        starts.append(URL(fileURLWithPath: fm.currentDirectoryPath))
        for start in starts {
            var dir = start.standardizedFileURL
            while true {
                let candidate = dir.appendingPathComponent(folder.rawValue)
                var isDirectory: ObjCBool = false
                if fm.fileExists(atPath: dir.appendingPathComponent("Package.swift").path),
                    fm.fileExists(atPath: candidate.path, isDirectory: &isDirectory), isDirectory.boolValue
                {
                    return candidate.path
                }
                let parent = dir.deletingLastPathComponent()
                if parent.path == dir.path { break }
                dir = parent
            }
        }
        throw NotFound(folder: folder, searched: starts.map(\.path))
    }
}
