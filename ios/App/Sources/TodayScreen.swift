import CairnCore
import SwiftUI
import UIKit

/// Today's doses and where each stands, medications to log a dose of now, and refills due.
@MainActor
struct TodayScreen: View {
    let store: CairnStore
    @EnvironmentObject private var model: AppModel
    @State private var doses: [DoseOccurrence] = []
    @State private var medications: [Medication] = []
    @State private var refills: [RefillStatus] = []
    @State private var message: String?

    var body: some View {
        NavigationStack {
            List {
                if let message {
                    Section { Text(message) }
                }
                if let problem = model.notificationProblem {
                    Section {
                        Label("Reminders are off: \(problem)", systemImage: "bell.slash")
                        if let settings = URL(string: UIApplication.openNotificationSettingsURLString) {
                            Link("Notification settings", destination: settings)
                        }
                    }
                }
                Section("Today") {
                    if doses.isEmpty {
                        Text("No doses scheduled today.").foregroundStyle(.secondary)
                    }
                    ForEach(doses, id: \.id) { dose in
                        DoseRow(dose: dose) { action in await perform(action, on: dose) }
                    }
                }
                if !medications.isEmpty {
                    Section("Log a dose now") {
                        ForEach(medications, id: \.id) { medication in
                            Button {
                                Task { await takeNow(medication) }
                            } label: {
                                LabeledContent(medication.name, value: medication.strength)
                            }
                        }
                    }
                }
                let due = refills.filter(\.needsRefill)
                if !due.isEmpty {
                    Section("Refills") {
                        ForEach(due, id: \.medicationId) { refill in
                            LabeledContent(
                                refill.medicationName,
                                value: refill.daysLeft.map { "\(amountText($0)) days left" }
                                    ?? "\(amountText(refill.remaining)) left")
                        }
                    }
                }
            }
            .navigationTitle("Today")
            .refreshable { await reload() }
            .task(id: model.generation) { await reload() }
        }
    }

    private func reload() async {
        let store = self.store
        do {
            let (doses, medications, refills) = try await offMain {
                try (store.dosesToday(), store.medications(), store.refillStatus())
            }
            self.doses = doses
            self.medications = medications
            self.refills = refills
        } catch {
            message = describe(error)
        }
    }

    private func perform(_ action: DoseAction, on dose: DoseOccurrence) async {
        let store = self.store
        let medicationId = dose.medicationId
        let occurrenceId = dose.id
        do {
            let doseId = dose.doseId
            message = try await offMain { () throws -> String? in
                switch action {
                case .take:
                    return try store.takeDose(
                        medicationId: medicationId, takenAt: nil, amount: nil, occurrenceId: occurrenceId
                    ).warnings.first?.text
                case .skip:
                    return try store.skipDose(medicationId: medicationId, occurrenceId: occurrenceId, reason: nil)
                        .warnings.first?.text
                case .snooze(let minutes):
                    return try store.snoozeDose(medicationId: medicationId, occurrenceId: occurrenceId, minutes: minutes)
                        .warnings.first?.text
                case .undo:
                    try store.undoDose(doseId: doseId)
                    return nil
                }
            }
        } catch {
            message = describe(error)
        }
        await model.refresh()
    }

    private func takeNow(_ medication: Medication) async {
        let store = self.store
        let medicationId = medication.id
        do {
            let logged = try await offMain {
                try store.takeDose(medicationId: medicationId, takenAt: nil, amount: nil, occurrenceId: nil)
            }
            message = logged.warnings.isEmpty
                ? "Logged \(medication.name)."
                : logged.warnings.map(\.text).joined(separator: "\n")
        } catch {
            message = describe(error)
        }
        await model.refresh()
    }
}

/// What the person did about a dose.
enum DoseAction: Sendable {
    case take
    case skip
    case snooze(minutes: UInt32)
    /// Withdraws a logged dose (a mistaken tap).
    case undo
}

/// One scheduled dose: what, when, its status, and the actions the row offers.
struct DoseRow: View {
    let dose: DoseOccurrence
    let act: (DoseAction) async -> Void

    var body: some View {
        VStack(alignment: .leading, spacing: 6) {
            HStack {
                Text(dose.medicationName).font(.headline)
                Spacer()
                Text(timeText(dose.scheduledAt)).monospacedDigit()
            }
            HStack {
                Text("\(amountText(dose.dose)) \(dose.unit)")
                Spacer()
                Text(statusText).foregroundStyle(.secondary)
            }
            if dose.status.isOpen {
                HStack {
                    Button("Take") { Task { await act(.take) } }
                        .buttonStyle(.borderedProminent)
                    Button("Skip") { Task { await act(.skip) } }
                        .buttonStyle(.bordered)
                    Button("In 10 min") { Task { await act(.snooze(minutes: 10)) } }
                        .buttonStyle(.bordered)
                }
            } else {
                Button("Undo") { Task { await act(.undo) } }
                    .buttonStyle(.bordered)
            }
        }
        .padding(.vertical, 4)
    }

    private var statusText: String {
        if let taken = dose.takenAt { return "\(dose.status.label) at \(timeText(taken))" }
        if let until = dose.snoozedUntil, dose.status == .snoozed {
            return "Snoozed until \(timeText(until))"
        }
        return dose.status.label
    }
}
