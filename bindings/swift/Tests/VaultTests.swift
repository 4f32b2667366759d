// Tests of the document vault through the generated Swift bindings. Files cross the FFI as paths
// (the API has no byte-array import): a discharge summary and a scan are imported from the app's
// files, listed, exported back byte for byte, damaged on disk, and shredded.
import Foundation

/// Deterministic pseudo-random bytes (xorshift64), standing in for a scanned PDF.
func scanBytes(_ count: Int, seed: UInt64) -> Data {
    var state = seed | 1
    var bytes = [UInt8](repeating: 0, count: count)
    for i in 0..<count {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        bytes[i] = UInt8(truncatingIfNeeded: state)
    }
    return Data(bytes)
}

/// Writes `data` to a file named `name` in `tmp`; returns its path.
func writeFile(_ tmp: TempDir, _ name: String, _ data: Data) throws -> String {
    let url = tmp.url.appendingPathComponent(name)
    try data.write(to: url)
    return url.path
}

func readFile(_ path: String) throws -> Data {
    try Data(contentsOf: URL(fileURLWithPath: path))
}

func fileExists(_ path: String) -> Bool {
    FileManager.default.fileExists(atPath: path)
}

extension ImportOutcome {
    /// The document an import added, or the one already holding the same content.
    var document: Document {
        switch self {
        case let .added(document), let .alreadyInVault(document): return document
        }
    }

    /// True when the same content was already in the vault and nothing was added.
    var alreadyInVault: Bool {
        if case .alreadyInVault = self { return true }
        return false
    }
}

func dischargeSummary(title: String = "Discharge summary", date: String? = "2026-03-27") -> DocumentMeta {
    DocumentMeta(
        title: title, kind: .dischargeSummary, documentDate: date, tags: ["chemo", "cycle 2"],
        notes: "Admitted with neutropenic fever after cycle 2", contentType: "application/pdf",
        linkedEvents: [])
}

func ctReport() -> DocumentMeta {
    DocumentMeta(
        title: "CT chest, abdomen and pelvis", kind: .imaging, documentDate: "2026-05-02",
        tags: ["scan"], notes: "", contentType: "application/pdf", linkedEvents: [])
}

let everyDocument = DocumentFilter(kind: nil, tag: nil, from: nil, to: nil)

/// A progress bar: records every report.
final class RecordingProgress: VaultProgress, @unchecked Sendable {
    private let lock = NSLock()
    private var received: [(done: UInt64, total: UInt64)] = []

    func onProgress(done: UInt64, total: UInt64) {
        lock.lock(); defer { lock.unlock() }
        received.append((done, total))
    }

    var reports: [(done: UInt64, total: UInt64)] { lock.lock(); defer { lock.unlock() }; return received }

    /// Reports arrive, never go backwards, and end at `size` of `size`.
    func expectComplete(_ size: UInt64, _ what: String, file: StaticString = #fileID, line: UInt = #line) throws {
        let all = reports
        try expect(all.count >= 2, "\(what): several progress reports for \(size) bytes, got \(all.count)",
                   file: file, line: line)
        try expect(zip(all, all.dropFirst()).allSatisfy { $0.done <= $1.done },
                   "\(what): progress never goes backwards: \(all.map(\.done))", file: file, line: line)
        try expect(all.allSatisfy { $0.total == size && $0.done <= $0.total },
                   "\(what): every report is out of \(size): \(all)", file: file, line: line)
        try expectEqual(all.last?.done, size, "\(what): the last report is the whole file", file: file, line: line)
    }
}

/// A new store in `tmp`/store; closed when `body` returns.
func withVaultStore(_ tmp: TempDir, _ body: (CairnStore) async throws -> Void) async throws {
    let store = try CairnStore.openWithKeyStore(dataDir: try tmp.subdirectory("store"), keyStore: MemoryKeyStore())
    defer { store.closeStore() }
    try await body(store)
}

func testVaultImportListExportRoundTrip(_ tmp: TempDir) async throws {
    // Just over 1 MiB: several streaming steps, so several progress reports.
    let bytes = scanBytes(1_100_000, seed: 7)
    let source = try writeFile(tmp, "discharge.pdf", bytes)
    try await withVaultStore(tmp) { store in
        let importing = RecordingProgress()
        let imported = try await store.vaultImport(path: source, meta: dischargeSummary(), progress: importing)
        try expect(!imported.alreadyInVault, "a first import is not a duplicate")
        let doc = imported.document
        try expectEqual(doc.size, UInt64(bytes.count), "size")
        try expectEqual(doc.title, "Discharge summary", "title")
        try expectEqual(doc.kind, .dischargeSummary, "kind")
        try expectEqual(doc.documentDate, "2026-03-27", "document date")
        try expectEqual(doc.tags, ["chemo", "cycle 2"], "tags")
        try expectEqual(doc.contentType, "application/pdf", "content type")
        try importing.expectComplete(UInt64(bytes.count), "import")
        try expectEqual(try readFile(source), bytes, "the app's own file is left as it was")

        let scan = try await store.vaultImport(
            path: try writeFile(tmp, "ct.pdf", scanBytes(40_000, seed: 8)), meta: ctReport(), progress: nil)
        try expectEqual(try store.vaultList(filter: everyDocument).map(\.id), [scan.document.id, doc.id],
                        "newest document date first")
        try expectEqual(try store.vaultList(filter: DocumentFilter(kind: .dischargeSummary, tag: nil, from: nil, to: nil))
                            .map(\.id), [doc.id], "listed by kind")
        try expectEqual(try store.vaultList(filter: DocumentFilter(kind: nil, tag: "scan", from: nil, to: nil)).map(\.id),
                        [scan.document.id], "listed by tag")
        try expectEqual(try store.vaultList(filter: DocumentFilter(kind: nil, tag: nil, from: "2026-03-01", to: "2026-03-31"))
                            .map(\.id), [doc.id], "listed by month")
        try expectEqual(try store.vaultSearch(query: "NEUTROPENIC").map(\.id), [doc.id], "search in the notes")
        try expectEqual(try store.vaultDocument(id: doc.id), doc, "read back as imported")

        let again = try await store.vaultImport(path: source, meta: dischargeSummary(title: "Discharge (copy)"), progress: nil)
        try expect(again.alreadyInVault, "the same content twice is noticed")
        try expectEqual(again.document.id, doc.id, "and points at the document already there")
        try expectEqual(try store.vaultList(filter: everyDocument).count, 2, "no third document")

        let stored = try readFile(try store.vaultContentPath(id: doc.id))
        try expect(stored.starts(with: Data("age-encryption.org/v1".utf8)), "stored as an age file")
        try expect(!stored.contains(bytes.subdata(in: 500_000..<500_064)), "no plaintext on disk")

        let exporting = RecordingProgress()
        let dest = try tmp.subdirectory("out") + "/discharge.pdf"
        // An older copy at the destination is replaced.
        try Data("stale".utf8).write(to: URL(fileURLWithPath: dest))
        try await store.vaultExport(id: doc.id, destPath: dest, progress: exporting)
        try expectEqual(try readFile(dest), bytes, "exported bytes equal the imported ones")
        try exporting.expectComplete(UInt64(bytes.count), "export")
        try expectEqual(try FileManager.default.contentsOfDirectory(atPath: tmp.path + "/out"), ["discharge.pdf"],
                        "no temporary file left beside the export")

        let checks = try await store.vaultVerify()
        try expectEqual(Set(checks.map(\.id)), Set([doc.id, scan.document.id]), "verify checks every document")
        try expect(checks.allSatisfy { $0.health == .ok }, "and finds them whole: \(checks)")
    }
}

func testVaultTamperedContentIsCorruptAndWritesNothing(_ tmp: TempDir) async throws {
    let bytes = scanBytes(600_000, seed: 9)
    try await withVaultStore(tmp) { store in
        let doc = try await store.vaultImport(
            path: try writeFile(tmp, "summary.pdf", bytes), meta: dischargeSummary(), progress: nil).document
        let scan = try await store.vaultImport(
            path: try writeFile(tmp, "ct.pdf", scanBytes(50_000, seed: 10)), meta: ctReport(), progress: nil).document

        // One bit flipped in the middle of the encrypted file.
        let contentPath = try store.vaultContentPath(id: doc.id)
        var damaged = try readFile(contentPath)
        damaged[damaged.startIndex + damaged.count / 2] ^= 0x01
        try damaged.write(to: URL(fileURLWithPath: contentPath))

        let out = try tmp.subdirectory("out")
        let fresh = out + "/never.pdf"
        let error = try await expectThrowsAsync(.corrupt) {
            try await store.vaultExport(id: doc.id, destPath: fresh, progress: RecordingProgress())
        }
        let message = cairnMessage(error)
        try expect(message.contains(doc.id), "the error names the document: \(message)")
        try expect(!message.contains("Discharge") && !message.contains("neutropenic"),
                   "the error carries no title or notes: \(message)")
        try expect(!fileExists(fresh), "nothing written for a failed export")

        // Exporting over an existing copy leaves that copy as it was.
        let kept = out + "/kept.pdf"
        try Data("the copy from last week".utf8).write(to: URL(fileURLWithPath: kept))
        try await expectThrowsAsync(.corrupt) {
            try await store.vaultExport(id: doc.id, destPath: kept, progress: nil)
        }
        try expectEqual(try readFile(kept), Data("the copy from last week".utf8), "an existing file is untouched")
        try expectEqual(try FileManager.default.contentsOfDirectory(atPath: out), ["kept.pdf"],
                        "no partial file left in the destination folder")

        let checks = try await store.vaultVerify()
        try expectEqual(Dictionary(uniqueKeysWithValues: checks.map { ($0.id, $0.health) }),
                        [doc.id: .corrupt, scan.id: .ok], "verify names the damaged document only")

        // Cut short, as by a full disk during a restore.
        try damaged.prefix(damaged.count / 3).write(to: URL(fileURLWithPath: contentPath))
        try await expectThrowsAsync(.corrupt) {
            try await store.vaultExport(id: doc.id, destPath: fresh, progress: nil)
        }
        try expect(!fileExists(fresh), "nothing written for a truncated file either")

        let whole = out + "/ct.pdf"
        try await store.vaultExport(id: scan.id, destPath: whole, progress: nil)
        try expectEqual(try readFile(whole), scanBytes(50_000, seed: 10), "the other document still exports")
    }
}

func testVaultDeleteShredsTheDocument(_ tmp: TempDir) async throws {
    let bytes = scanBytes(300_000, seed: 11)
    let source = try writeFile(tmp, "summary.pdf", bytes)
    try await withVaultStore(tmp) { store in
        let doc = try await store.vaultImport(path: source, meta: dischargeSummary(), progress: nil).document
        let scan = try await store.vaultImport(
            path: try writeFile(tmp, "ct.pdf", scanBytes(20_000, seed: 12)), meta: ctReport(), progress: nil).document
        let contentPath = try store.vaultContentPath(id: doc.id)
        try expect(fileExists(contentPath), "the encrypted file is on disk")

        try store.vaultDelete(id: doc.id)
        try expect(!fileExists(contentPath), "the encrypted file is removed")
        try expectEqual(try store.vaultList(filter: everyDocument).map(\.id), [scan.id], "only the scan is listed")
        try expectEqual(try store.vaultSearch(query: "neutropenic"), [], "the notes are no longer searchable")
        try expectThrows(.notFound) { try store.vaultDocument(id: doc.id) }
        try expectThrows(.notFound) { try store.vaultContentPath(id: doc.id) }
        let dest = try tmp.subdirectory("out") + "/summary.pdf"
        try await expectThrowsAsync(.notFound) {
            try await store.vaultExport(id: doc.id, destPath: dest, progress: nil)
        }
        try expect(!fileExists(dest), "nothing exported for a deleted document")
        try expectThrows(.notFound) { try store.vaultEdit(id: doc.id, meta: dischargeSummary(title: "Renamed")) }

        let checks = try await store.vaultVerify()
        try expectEqual(checks.map(\.id), [scan.id], "verify checks only what is left")
        // Importing the same file again is a new document: nothing of the old one is left to match.
        let again = try await store.vaultImport(path: source, meta: dischargeSummary(), progress: nil)
        try expect(!again.alreadyInVault, "the shredded content is not found as a duplicate")
        try expect(again.document.id != doc.id, "a new id")
        try await store.vaultExport(id: again.document.id, destPath: dest, progress: nil)
        try expectEqual(try readFile(dest), bytes, "the new copy exports")
    }
}

func testVaultBadInputIsInvalidOrNotFound(_ tmp: TempDir) async throws {
    let source = try writeFile(tmp, "letter.pdf", scanBytes(3_000, seed: 13))
    try await withVaultStore(tmp) { store in
        let date = try await expectThrowsAsync(.invalid) {
            try await store.vaultImport(path: source, meta: dischargeSummary(date: "27/03/2026"), progress: nil)
        }
        try expect(cairnMessage(date).contains("expected a date"), "says a date was expected: \(cairnMessage(date))")
        let title = try await expectThrowsAsync(.invalid) {
            try await store.vaultImport(path: source, meta: dischargeSummary(title: "   "), progress: nil)
        }
        try expect(cairnMessage(title).contains("title"), "names the title: \(cairnMessage(title))")
        let path = try await expectThrowsAsync(.invalid) {
            try await store.vaultImport(path: tmp.path + "/no-such.pdf", meta: dischargeSummary(), progress: nil)
        }
        try expect(cairnMessage(path).contains("path"), "names the path: \(cairnMessage(path))")
        try expectInvalid("date", "a month that does not exist") {
            try store.vaultList(filter: DocumentFilter(kind: nil, tag: nil, from: "2026-13-01", to: nil))
        }
        try expectEqual(try store.vaultList(filter: everyDocument), [], "nothing refused was imported")
        try await expectThrowsAsync(.notFound) {
            try await store.vaultExport(id: "no-such-id", destPath: tmp.path + "/y.pdf", progress: nil)
        }
        try expectThrows(.notFound) { try store.vaultDelete(id: "no-such-id") }
    }
}

func testVaultEditAndReplaceContentKeepTheDocument(_ tmp: TempDir) async throws {
    let draft = scanBytes(280_000, seed: 14)
    let signed = scanBytes(700_000, seed: 15)
    try await withVaultStore(tmp) { store in
        let doc = try await store.vaultImport(
            path: try writeFile(tmp, "draft.pdf", draft), meta: dischargeSummary(), progress: nil).document
        let oldFile = try store.vaultContentPath(id: doc.id)

        var meta = dischargeSummary(title: "Discharge summary (signed)")
        meta.tags = ["chemo", "cycle 2", "admission"]
        let edited = try store.vaultEdit(id: doc.id, meta: meta)
        try expectEqual(edited.title, "Discharge summary (signed)", "title edited")
        try expectEqual(Set(edited.tags), Set(["chemo", "cycle 2", "admission"]), "tag added")
        try expectEqual(edited.size, doc.size, "an edit of the metadata keeps the content")
        try expectEqual(try store.vaultList(filter: DocumentFilter(kind: nil, tag: "admission", from: nil, to: nil)).map(\.id),
                        [doc.id], "found by its new tag")
        try expectInvalid("title", "an edit to an empty title") {
            try store.vaultEdit(id: doc.id, meta: dischargeSummary(title: ""))
        }
        try expectEqual(try store.vaultDocument(id: doc.id), edited, "a refused edit changes nothing")

        // The signed version arrives from the hospital: same document, new content.
        let replacing = RecordingProgress()
        let replaced = try await store.vaultReplaceContent(
            id: doc.id, path: try writeFile(tmp, "signed.pdf", signed), progress: replacing)
        try replacing.expectComplete(UInt64(signed.count), "replace")
        try expectEqual(replaced.id, doc.id, "the same document")
        try expectEqual(replaced.size, UInt64(signed.count), "the new size")
        try expectEqual(replaced.title, edited.title, "the metadata kept")
        try expect(!fileExists(oldFile), "the old version's file is removed")
        try expect(try store.vaultContentPath(id: doc.id) != oldFile, "the new version is a new file")
        let dest = try tmp.subdirectory("out") + "/signed.pdf"
        try await store.vaultExport(id: doc.id, destPath: dest, progress: nil)
        try expectEqual(try readFile(dest), signed, "the export is the new version")

        let missing = try await expectThrowsAsync(.invalid) {
            try await store.vaultReplaceContent(id: doc.id, path: tmp.path + "/gone.pdf", progress: nil)
        }
        try expect(cairnMessage(missing).contains("path"), "names the path: \(cairnMessage(missing))")
        try await store.vaultExport(id: doc.id, destPath: dest, progress: nil)
        try expectEqual(try readFile(dest), signed, "a refused replacement keeps the current version")
        let checks = try await store.vaultVerify()
        try expectEqual(checks.map(\.health), [.ok], "verify")
    }
}

func testVaultEmptyFileRoundTrips(_ tmp: TempDir) async throws {
    try await withVaultStore(tmp) { store in
        let imported = try await store.vaultImport(
            path: try writeFile(tmp, "empty.txt", Data()),
            meta: DocumentMeta(title: "Placeholder for the consent form", kind: .other, documentDate: nil,
                                    tags: [], notes: "", contentType: "text/plain", linkedEvents: []),
            progress: nil)
        try expectEqual(imported.document.size, 0, "an empty file is an empty document")
        let dest = tmp.path + "/empty-out.txt"
        try await store.vaultExport(id: imported.document.id, destPath: dest, progress: nil)
        try expectEqual(try readFile(dest), Data(), "and exports as an empty file")
    }
}

let vaultTests: [(name: String, body: (TempDir) async throws -> Void)] = [
    ("vaultImportListExportRoundTrip", testVaultImportListExportRoundTrip),
    ("vaultTamperedContentIsCorruptAndWritesNothing", testVaultTamperedContentIsCorruptAndWritesNothing),
    ("vaultDeleteShredsTheDocument", testVaultDeleteShredsTheDocument),
    ("vaultBadInputIsInvalidOrNotFound", testVaultBadInputIsInvalidOrNotFound),
    ("vaultEditAndReplaceContentKeepTheDocument", testVaultEditAndReplaceContentKeepTheDocument),
    ("vaultEmptyFileRoundTrips", testVaultEmptyFileRoundTrips),
]
