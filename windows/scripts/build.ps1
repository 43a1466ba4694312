# Builds countersign_ffi.dll (release) and generates the C# bindings with uniffi-bindgen-cs, then
# builds the WPF app. Run from anywhere on Windows with Rust (MSVC), the .NET 8 SDK, and
# uniffi-bindgen-cs installed:
#   cargo install uniffi-bindgen-cs --git https://github.com/NordSecurity/uniffi-bindgen-cs --tag <tag for uniffi 0.31>
param([string]$Configuration = "Release", [switch]$SkipApp)
$ErrorActionPreference = "Stop"
$root = Resolve-Path "$PSScriptRoot\..\.."
$windows = Join-Path $root "windows"
Push-Location $root
try {
    cargo build -p countersign-ffi --release
    if ($LASTEXITCODE -ne 0) { throw "cargo build failed" }
    $target = if ($env:CARGO_TARGET_DIR) { $env:CARGO_TARGET_DIR } else { Join-Path $root "target" }
    $dll = Join-Path $target "release\countersign_ffi.dll"
    New-Item -ItemType Directory -Force (Join-Path $windows "build") | Out-Null
    Copy-Item $dll (Join-Path $windows "build\countersign_ffi.dll") -Force

    $generated = Join-Path $windows "Countersign\Generated"
    if (Test-Path $generated) { Remove-Item -Recurse -Force $generated }
    # Library mode: reads the uniffi metadata from the DLL and bindings/uniffi.toml ([bindings.csharp]).
    uniffi-bindgen-cs --library $dll --config (Join-Path $root "bindings\uniffi.toml") --out-dir $generated
    if ($LASTEXITCODE -ne 0) { throw "uniffi-bindgen-cs failed" }
    if (-not (Get-ChildItem $generated -Filter *.cs)) { throw "no C# generated in $generated" }

    if (-not $SkipApp) {
        dotnet build (Join-Path $windows "Countersign\Countersign.csproj") -c $Configuration -p:Platform=x64
        if ($LASTEXITCODE -ne 0) { throw "dotnet build failed" }
    }
} finally {
    Pop-Location
}
