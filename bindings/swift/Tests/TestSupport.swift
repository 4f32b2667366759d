// A tiny test harness (XCTest is not assumed): assertions that throw, temp dirs, key stores.
import Foundation

/// A failed assertion, with the place it failed.
struct TestFailure: Error, CustomStringConvertible {
    let description: String
}

func fail(_ message: String, file: StaticString = #fileID, line: UInt = #line) -> TestFailure {
    TestFailure(description: "\(file):\(line): \(message)")
}

func expect(
    _ condition: @autoclosure () throws -> Bool, _ message: @autoclosure () -> String,
    file: StaticString = #fileID, line: UInt = #line
) throws {
    if !(try condition()) { throw fail(message(), file: file, line: line) }
}

func expectEqual<T: Equatable>(
    _ actual: T, _ expected: T, _ what: String,
    file: StaticString = #fileID, line: UInt = #line
) throws {
    if actual != expected {
        throw fail("\(what): expected \(expected), got \(actual)", file: file, line: line)
    }
}

/// The instant `ms` milliseconds after the Unix epoch.
func instant(_ ms: Int64) -> Date {
    Date(timeIntervalSince1970: Double(ms) / 1000)
}

extension Date {
    /// Milliseconds since the Unix epoch.
    var ms: Int64 { Int64((timeIntervalSince1970 * 1000).rounded()) }
}

/// Which error a call must throw.
struct ErrorMatcher {
    let name: String
    let matches: (Error) -> Bool

    static func cairn(_ name: String, _ matches: @escaping (CairnError) -> Bool) -> ErrorMatcher {
        ErrorMatcher(name: "CairnError.\(name)") { ($0 as? CairnError).map(matches) ?? false }
    }

    static let wrongKey = cairn("WrongKey") { if case .WrongKey = $0 { return true }; return false }
    static let locked = cairn("Locked") { if case .Locked = $0 { return true }; return false }
    static let invalid = cairn("Invalid") { if case .Invalid = $0 { return true }; return false }
    static let keyStore = cairn("KeyStore") { if case .KeyStore = $0 { return true }; return false }
    static let scheduler = cairn("Scheduler") { if case .Scheduler = $0 { return true }; return false }
    /// A value the core cannot lift (a date that is not one, an instant beyond its calendar):
    /// uniffi's own error, raised before the call runs.
}

/// Runs `body`, which must throw an error `matcher` accepts; returns that error.
@discardableResult
func expectThrows<T>(
    _ matcher: ErrorMatcher, file: StaticString = #fileID, line: UInt = #line,
    _ body: () throws -> T
) throws -> Error {
    let result: T
    do {
        result = try body()
    } catch {
        if matcher.matches(error) { return error }
        throw fail("expected \(matcher.name), got \(String(reflecting: error))", file: file, line: line)
    }
    throw fail("expected \(matcher.name), got a result: \(result)", file: file, line: line)
}

@discardableResult
func expectThrowsAsync<T>(
    _ matcher: ErrorMatcher, file: StaticString = #fileID, line: UInt = #line,
    _ body: () async throws -> T
) async throws -> Error {
    let result: T
    do {
        result = try await body()
    } catch {
        if matcher.matches(error) { return error }
        throw fail("expected \(matcher.name), got \(String(reflecting: error))", file: file, line: line)
    }
    throw fail("expected \(matcher.name), got a result: \(result)", file: file, line: line)
}

/// A fresh, empty directory under the system temp dir; the runner removes it after the test.
final class TempDir {
    let url: URL
    var path: String { url.path }

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("cairn-swift-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// A fresh directory inside this one (for tests that need several stores).
    func subdirectory(_ name: String) throws -> String {
        let sub = url.appendingPathComponent(name, isDirectory: true)
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        return sub.path
    }

    /// Every regular file below this directory, by relative path, with its bytes.
    func snapshot() throws -> [String: Data] {
        var files: [String: Data] = [:]
        let root = url.resolvingSymlinksInPath().path
        guard let walker = FileManager.default.enumerator(atPath: root) else { return files }
        for case let relative as String in walker {
            let full = root + "/" + relative
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue {
                files[relative] = try Data(contentsOf: URL(fileURLWithPath: full))
            }
        }
        return files
    }

    func remove() {
        try? FileManager.default.removeItem(at: url)
    }
}

/// A Keychain stand-in: secrets in a dictionary, every call recorded.
final class MemoryKeyStore: KeyStore, @unchecked Sendable {
    private let lock = NSLock()
    private var secrets: [String: Data]
    private var savedNames: [String] = []
    private var loadedNames: [String] = []

    init(_ secrets: [String: Data] = [:]) {
        self.secrets = secrets
    }

    func load(name: String) throws -> Data? {
        locked {
            loadedNames.append(name)
            return secrets[name]
        }
    }

    func save(name: String, secret: Data) throws {
        locked {
            savedNames.append(name)
            secrets[name] = secret
        }
    }

    var saves: [String] { locked { savedNames } }
    var loads: [String] { locked { loadedNames } }
    var all: [String: Data] { locked { secrets } }
    func secret(_ name: String) -> Data? { locked { secrets[name] } }

    private func locked<R>(_ body: () throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}

/// A key store whose backing store is unavailable (device locked, Keychain error).
final class UnavailableKeyStore: KeyStore, @unchecked Sendable {
    private let lock = NSLock()
    private var callCount = 0

    func load(name: String) throws -> Data? {
        count()
        throw KeyStoreError.Unavailable(reason: "keychain is locked (test)")
    }

    func save(name: String, secret: Data) throws {
        count()
        throw KeyStoreError.Unavailable(reason: "keychain is locked (test)")
    }

    var calls: Int {
        lock.lock()
        defer { lock.unlock() }
        return callCount
    }

    private func count() {
        lock.lock()
        callCount += 1
        lock.unlock()
    }
}

let sqlitePlaintextHeader = Data("SQLite format 3\u{0}".utf8)

extension Data {
    func contains(_ needle: Data) -> Bool { range(of: needle) != nil }
}
