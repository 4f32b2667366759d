// Entry point of the Kotlin binding tests (run by bindings/kotlin/run-tests.sh).
package app.cairn.core.test

fun main() {
    runTests(cairnStoreTests + vaultTests + medsTests + timelineTests + syncTests)
}
