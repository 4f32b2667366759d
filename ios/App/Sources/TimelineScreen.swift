import CairnCore
import SwiftUI

/// The journey, newest first, grouped by day in the device's zone; search, older pages, notes.
@MainActor
struct TimelineScreen: View {
    let store: CairnStore
    @EnvironmentObject private var model: AppModel
    @State private var days: [DayGroup] = []
    @State private var older: String?
    @State private var query = ""
    @State private var message: String?
    @State private var addingNote = false

    /// Events per page.
    private static let pageSize: UInt32 = 50

    var body: some View {
        NavigationStack {
            List {
                if let message {
                    Section { Text(message) }
                }
                if days.isEmpty {
                    Text(query.isEmpty ? "Nothing on your timeline yet." : "No events match.")
                        .foregroundStyle(.secondary)
                }
                ForEach(days, id: \.date) { day in
                    Section(dayText(day.date)) {
                        ForEach(day.events, id: \.id) { entry in
                            EntryRow(entry: entry)
                        }
                    }
                }
                if let older {
                    Button("Show older") { Task { await load(after: older) } }
                }
            }
            .navigationTitle("Timeline")
            .searchable(text: $query)
            .task(id: "\(model.generation)|\(query)") { await load(after: nil) }
            .refreshable { await load(after: nil) }
            .toolbar {
                Button {
                    addingNote = true
                } label: {
                    Label("Add a note", systemImage: "square.and.pencil")
                }
            }
            .sheet(isPresented: $addingNote) {
                NoteSheet(store: store) { await model.refresh() }
            }
        }
    }

    /// The first page (`cursor` nil) or the page after `cursor`, appended.
    private func load(after cursor: String?) async {
        let store = self.store
        let filter = TimelineQuery(text: query.isEmpty ? nil : query)
        let zone = TimeZone.current.identifier
        let limit = Self.pageSize
        do {
            let page = try await offMain {
                try store.timelineDays(filter: filter, cursor: cursor, limit: limit, zone: zone)
            }
            if cursor == nil {
                days = page.days
            } else {
                days.append(contentsOf: page.days)
            }
            older = page.older
            message = nil
        } catch {
            message = describe(error)
        }
    }
}

/// One event: kind, title, time, flags.
struct EntryRow: View {
    let entry: TimelineEvent

    var body: some View {
        HStack(alignment: .firstTextBaseline) {
            Image(systemName: entry.kind.symbol).foregroundStyle(.tint)
            VStack(alignment: .leading, spacing: 2) {
                Text(entry.title.isEmpty ? entry.kind.label : entry.title).font(.body)
                if !entry.body.isEmpty {
                    Text(entry.body).font(.callout).foregroundStyle(.secondary).lineLimit(2)
                }
                HStack {
                    Text(entry.kind.label)
                    ForEach(entry.flags, id: \.self) { flag in
                        Text(flag.label).foregroundStyle(.red)
                    }
                }
                .font(.caption)
            }
            Spacer()
            Text(timeText(entry.occurredAt)).font(.caption).monospacedDigit()
        }
    }
}

/// A note added to the timeline now, in the device's zone.
@MainActor
struct NoteSheet: View {
    let store: CairnStore
    let saved: () async -> Void
    @Environment(\.dismiss) private var dismiss
    @State private var title = ""
    @State private var text = ""
    @State private var message: String?

    var body: some View {
        NavigationStack {
            Form {
                TextField("Title", text: $title)
                TextField("What happened", text: $text, axis: .vertical)
                    .lineLimit(4...10)
                if let message {
                    Text(message).foregroundStyle(.red)
                }
            }
            .navigationTitle("New note")
            .toolbar {
                ToolbarItem(placement: .cancellationAction) {
                    Button("Cancel") { dismiss() }
                }
                ToolbarItem(placement: .confirmationAction) {
                    Button("Save") { Task { await save() } }
                }
            }
        }
    }

    private func save() async {
        let store = self.store
        let entry = NewEvent(
            occurredAt: Date(),
            recordedZone: nil, endsAt: nil, title: title, body: text, tags: [],
            details: .note, medicationIds: [], documentIds: [])
        do {
            _ = try await offMain { try store.addEvent(event: entry) }
            await saved()
            dismiss()
        } catch {
            // The core names the field and the reason (e.g. a note needs a title).
            message = describe(error)
        }
    }
}
