// A tiny self-contained test runner: JUnit is not available offline.
//
// Each test is a named lambda. Every test runs on its own daemon thread with a time limit, so
// a hang or a crash in one test is reported as a failure and the others still run. The last
// line printed is always `N passed, M failed`; the exit status is 0 only if M is 0.
package app.cairn.core.test

import java.io.PrintWriter
import java.io.StringWriter
import java.util.concurrent.ExecutionException
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import java.util.concurrent.TimeoutException
import kotlin.system.exitProcess

class TestCase(val name: String, val body: () -> Unit)

/** Thrown by the assertion helpers below. */
class AssertionFailed(message: String) : AssertionError(message)

fun fail(message: String): Nothing = throw AssertionFailed(message)

fun assertTrue(condition: Boolean, message: () -> String) {
    if (!condition) fail(message())
}

fun <T> assertEquals(expected: T, actual: T, what: String) {
    if (expected != actual) fail("$what: expected <$expected>, got <$actual>")
}

/** Runs [block], expects it to throw exactly a [T] (or a subclass) and returns it. */
inline fun <reified T : Throwable> assertThrows(what: String, block: () -> Unit): T {
    try {
        block()
    } catch (e: Throwable) {
        if (e is T) return e
        fail("$what: expected ${T::class.qualifiedName}, got ${describe(e)}")
    }
    fail("$what: expected ${T::class.qualifiedName}, nothing was thrown")
}

fun describe(e: Throwable): String = "${e.javaClass.name}: ${e.message}"

private fun shortTrace(e: Throwable): String {
    val sw = StringWriter()
    e.printStackTrace(PrintWriter(sw))
    return sw.toString().lineSequence().filter { it.isNotBlank() }.drop(1).take(5).joinToString("\n") { "        " + it.trim() }
}

/** Runs [tests] and terminates the JVM with 0 if all passed, 1 otherwise. */
fun runTests(tests: List<TestCase>, timeoutSeconds: Long = 120): Nothing {
    var passed = 0
    var failed = 0
    for (test in tests) {
        val executor = Executors.newSingleThreadExecutor { r ->
            Thread(r, "test: ${test.name}").apply { isDaemon = true }
        }
        val started = System.nanoTime()
        val failure: String? = try {
            executor.submit(test.body).get(timeoutSeconds, TimeUnit.SECONDS)
            null
        } catch (e: TimeoutException) {
            "timed out after ${timeoutSeconds}s"
        } catch (e: ExecutionException) {
            val cause = e.cause ?: e
            if (cause is AssertionFailed) cause.message ?: "assertion failed"
            else describe(cause) + "\n" + shortTrace(cause)
        } catch (e: Throwable) {
            describe(e)
        } finally {
            executor.shutdownNow()
        }
        val ms = (System.nanoTime() - started) / 1_000_000
        if (failure == null) {
            passed++
            println("PASS ${test.name} (${ms} ms)")
        } else {
            failed++
            println("FAIL ${test.name} (${ms} ms): $failure")
        }
        System.out.flush()
    }
    System.err.flush()
    println("$passed passed, $failed failed")
    System.out.flush()
    exitProcess(if (failed == 0 && passed > 0) 0 else 1)
}
