plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
    id("org.jetbrains.kotlin.plugin.compose")
}

// Rust: countersign-ffi for each ABI (cargo-ndk) and the Android flavour of the uniffi Kotlin,
// both written under build/rust by android/scripts/build-rust.sh.
val rustOut = layout.buildDirectory.dir("rust")
val repoRoot = rootProject.projectDir.parentFile
val rustProfile = providers.gradleProperty("countersign.rustProfile").orElse("release")
val rustAbis = providers.gradleProperty("countersign.abis").orElse("arm64-v8a armeabi-v7a x86_64")

val buildRust by tasks.registering(Exec::class) {
    description = "Builds countersign-ffi with cargo-ndk and generates the uniffi Kotlin bindings"
    workingDir = repoRoot
    val args = mutableListOf("bash", "android/scripts/build-rust.sh", "--out", rustOut.get().asFile.path, "--abis", rustAbis.get())
    if (rustProfile.get() == "debug") args += "--debug"
    commandLine(args)
    inputs.dir(File(repoRoot, "core/src"))
    inputs.dir(File(repoRoot, "bindings/src"))
    inputs.files(File(repoRoot, "Cargo.lock"), File(repoRoot, "bindings/uniffi.toml"), File(rootDir, "uniffi-android.toml"))
    outputs.dir(rustOut)
}

fun prop(name: String) = (findProperty(name) as String?).orEmpty()

android {
    namespace = "org.countersign.app"
    compileSdk = 35

    defaultConfig {
        applicationId = "org.countersign.app"
        // BiometricPrompt with BIOMETRIC_STRONG | DEVICE_CREDENTIAL needs API 30.
        minSdk = 30
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
        buildConfigField("String", "FCM_APP_ID", "\"${prop("countersign.fcm.appId")}\"")
        buildConfigField("String", "FCM_PROJECT_ID", "\"${prop("countersign.fcm.projectId")}\"")
        buildConfigField("String", "FCM_API_KEY", "\"${prop("countersign.fcm.apiKey")}\"")
        buildConfigField("String", "FCM_SENDER_ID", "\"${prop("countersign.fcm.senderId")}\"")
    }

    buildTypes {
        release {
            isMinifyEnabled = true
            proguardFiles(getDefaultProguardFile("proguard-android-optimize.txt"), "proguard-rules.pro")
        }
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    buildFeatures {
        compose = true
        buildConfig = true
    }
    sourceSets["main"].apply {
        jniLibs.srcDir(rustOut.map { it.dir("jniLibs") })
        java.srcDir(rustOut.map { it.dir("kotlin") })
    }
    packaging {
        // The Rust libraries are loaded by JNA from the APK's native library directory.
        jniLibs.useLegacyPackaging = false
    }
}

kotlin {
    compilerOptions { jvmTarget.set(org.jetbrains.kotlin.gradle.dsl.JvmTarget.JVM_17) }
}

tasks.named("preBuild") { dependsOn(buildRust) }

dependencies {
    // The generated bindings: JNA (Android AAR with its native dispatch libraries) and androidx.annotation.
    implementation("net.java.dev.jna:jna:5.15.0@aar")
    implementation("androidx.annotation:annotation:1.9.1")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.9.0")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-play-services:1.9.0")

    implementation(platform("androidx.compose:compose-bom:2024.12.01"))
    implementation("androidx.compose.material3:material3")
    implementation("androidx.compose.ui:ui")
    implementation("androidx.activity:activity-compose:1.9.3")
    implementation("androidx.fragment:fragment-ktx:1.8.5")
    implementation("androidx.lifecycle:lifecycle-viewmodel-compose:2.8.7")
    implementation("androidx.lifecycle:lifecycle-runtime-compose:2.8.7")

    val camerax = "1.4.1"
    implementation("androidx.camera:camera-camera2:$camerax")
    implementation("androidx.camera:camera-lifecycle:$camerax")
    implementation("androidx.camera:camera-view:$camerax")

    implementation("androidx.biometric:biometric:1.1.0")
    implementation("androidx.core:core-ktx:1.15.0")

    implementation(platform("com.google.firebase:firebase-bom:33.7.0"))
    implementation("com.google.firebase:firebase-messaging")
}
