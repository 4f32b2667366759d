import CairnCore
import QuickLook
import SwiftUI
import UniformTypeIdentifiers

/// The vault: documents newest first, search, import from Files, open a decrypted copy.
@MainActor
struct DocumentsScreen: View {
    let store: CairnStore
    @EnvironmentObject private var model: AppModel
    @State private var documents: [Document] = []
    @State private var query = ""
    @State private var message: String?
    @State private var importing = false
    @State private var busy = false
    @State private var preview: URL?

    var body: some View {
        NavigationStack {
            List {
                if let message {
                    Section { Text(message) }
                }
                if documents.isEmpty {
                    Text(query.isEmpty ? "No documents yet." : "No documents match.")
                        .foregroundStyle(.secondary)
                }
                ForEach(documents, id: \.id) { document in
                    Button {
                        Task { await open(document) }
                    } label: {
                        DocumentRow(document: document)
                    }
                    .foregroundStyle(.primary)
                }
                .onDelete { offsets in
                    let ids = offsets.map { documents[$0].id }
                    Task { await delete(ids) }
                }
            }
            .navigationTitle("Documents")
            .searchable(text: $query)
            .task(id: "\(model.generation)|\(query)") { await reload() }
            .refreshable { await reload() }
            .toolbar {
                if busy {
                    ProgressView()
                } else {
                    Button {
                        importing = true
                    } label: {
                        Label("Import", systemImage: "plus")
                    }
                }
            }
            .fileImporter(isPresented: $importing, allowedContentTypes: [.item]) { result in
                switch result {
                case .success(let url): Task { await importFile(url) }
                case .failure(let error): message = error.localizedDescription
                }
            }
            .quickLookPreview($preview)
            .onChange(of: preview) { old, new in
                // The decrypted copy lives only while it is shown.
                if let old, new == nil { try? FileManager.default.removeItem(at: old.deletingLastPathComponent()) }
            }
        }
    }

    private func reload() async {
        let store = self.store
        let query = self.query
        do {
            documents = try await offMain {
                try query.isEmpty
                    ? store.vaultList(filter: DocumentFilter(kind: nil, tag: nil, from: nil, to: nil))
                    : store.vaultSearch(query: query)
            }
            message = nil
        } catch {
            message = describe(error)
        }
    }

    private func importFile(_ url: URL) async {
        let scoped = url.startAccessingSecurityScopedResource()
        defer { if scoped { url.stopAccessingSecurityScopedResource() } }
        let meta = DocumentMeta(
            title: url.deletingPathExtension().lastPathComponent, kind: .other, documentDate: nil,
            tags: [], notes: "",
            contentType: UTType(filenameExtension: url.pathExtension)?.preferredMIMEType
                ?? "application/octet-stream",
            linkedEvents: [])
        busy = true
        defer { busy = false }
        do {
            // The core streams the file in, encrypting as it reads; the original is not changed.
            let outcome = try await store.vaultImport(path: url.path, meta: meta, progress: nil)
            if case .alreadyInVault = outcome {
                message = "That document is already in your vault."
            } else {
                message = nil
            }
        } catch {
            message = describe(error)
        }
        await model.refresh()
    }

    private func open(_ document: Document) async {
        let fileExtension = UTType(mimeType: document.contentType)?.preferredFilenameExtension ?? "bin"
        let name = document.title.replacingOccurrences(of: "/", with: "-")
        let folder = AppModel.openedCopies.appendingPathComponent(UUID().uuidString, isDirectory: true)
        let destination = folder.appendingPathComponent(name.isEmpty ? "document" : name)
            .appendingPathExtension(fileExtension)
        busy = true
        defer { busy = false }
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try await store.vaultExport(id: document.id, destPath: destination.path, progress: nil)
            preview = destination
        } catch {
            try? FileManager.default.removeItem(at: folder)
            message = describe(error)
        }
    }

    private func delete(_ ids: [String]) async {
        let store = self.store
        do {
            try await offMain {
                for id in ids { try store.vaultDelete(id: id) }
            }
        } catch {
            message = describe(error)
        }
        await model.refresh()
    }
}

/// One document: title, kind, its date, size.
struct DocumentRow: View {
    let document: Document

    var body: some View {
        VStack(alignment: .leading, spacing: 2) {
            Text(document.title).font(.body)
            HStack {
                Text(document.kind.label)
                if let day = document.documentDate { Text(dayText(day)) }
                Spacer()
                Text(Int64(clamping: document.size).formatted(.byteCount(style: .file)))
            }
            .font(.caption)
            .foregroundStyle(.secondary)
        }
    }
}
