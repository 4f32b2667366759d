import SwiftUI

/// The care team. The core does not have spaces, members and invitations yet, so this screen says
/// so plainly instead of showing anything made up.
struct CareTeamScreen: View {
    var body: some View {
        NavigationStack {
            ContentUnavailableView {
                Label("Care team is not available yet", systemImage: "person.2")
            } description: {
                Text(
                    "Sharing your record with caregivers you choose will come in a later version. "
                        + "Until then, everything you record stays on this device, encrypted.")
            }
            .navigationTitle("Care team")
        }
    }
}
