// Runner: runs every test in `allTests` (or only those named on the command line), each in a
// fresh temp dir, prints PASS/FAIL per test and "N passed, M failed"; exits 1 on any failure.
import Foundation

setvbuf(stdout, nil, _IOLBF, 0)

let selected = Set(CommandLine.arguments.dropFirst())
let unknown = selected.subtracting(allTests.map(\.name))
if !unknown.isEmpty {
    print("unknown test(s): \(unknown.sorted().joined(separator: ", "))")
    print("available: \(allTests.map(\.name).joined(separator: ", "))")
    exit(2)
}

var passed = 0
var failed = 0
for test in allTests where selected.isEmpty || selected.contains(test.name) {
    let started = Date()
    do {
        let tmp = try TempDir()
        defer { tmp.remove() }
        try await test.body(tmp)
        passed += 1
        print("PASS \(test.name) (\(String(format: "%.2f", Date().timeIntervalSince(started))) s)")
    } catch {
        failed += 1
        print("FAIL \(test.name): \(String(reflecting: error))")
    }
}

print("\(passed) passed, \(failed) failed")
exit(failed == 0 && passed > 0 ? 0 : 1)
