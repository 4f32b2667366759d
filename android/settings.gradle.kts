// Cairn for Android: the `cairn` library (the Rust core as jniLibs plus its generated Kotlin
// bindings) and the thin Compose `app` built on it.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "Cairn"
include(":cairn", ":app")
