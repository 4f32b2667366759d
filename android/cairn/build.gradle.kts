// The Rust core for Android: libcairn_ffi.so per ABI (src/main/jniLibs) and the Kotlin bindings
// uniffi generates from it (src/main/kotlin), both produced by build-rust.sh before every build.
plugins {
    alias(libs.plugins.android.library)
    alias(libs.plugins.kotlin.android)
}

android {
    namespace = "app.cairn.core"
    compileSdk = 35

    defaultConfig {
        minSdk = 26
        consumerProguardFiles("consumer-rules.pro")
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

kotlin {
    compilerOptions {
        jvmTarget.set(org.jetbrains.kotlin.gradle.dsl.JvmTarget.JVM_17)
        // The generated code alone produces pages of warnings.
        suppressWarnings.set(true)
    }
}

dependencies {
    // JNA as an AAR: the jar plus libjnidispatch.so for every Android ABI.
    implementation("net.java.dev.jna:jna:${libs.versions.jna.get()}@aar")
    // The bindings' async functions (vault import/export, integrity check) suspend.
    api(libs.kotlinx.coroutines.core)
}

// cargo-ndk for arm64-v8a, armeabi-v7a and x86_64, then the Kotlin bindings. The script stops
// with a message naming what to install when a tool (rustup targets, cargo-ndk, the NDK) is
// missing. Skip it with -Pcairn.skipRust=true when its outputs are already in place.
val skipRust = providers.gradleProperty("cairn.skipRust").map { it.toBoolean() }.getOrElse(false)
val buildRust by tasks.registering(Exec::class) {
    group = "build"
    description = "Builds libcairn_ffi.so with cargo-ndk and generates the Kotlin bindings."
    workingDir = projectDir
    commandLine("bash", "build-rust.sh")
    onlyIf { !skipRust }
}
tasks.named("preBuild") { dependsOn(buildRust) }
