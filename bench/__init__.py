"""The benchmark: our static docker-credential-ecr-login against Debian's Go helper, side by side.

Run it with `scripts/bench` (see bench/README.md for the scenarios, the options, the fairness rules
and how to read the table). Modules, by concern:

  config       paths, the test account/registry, the CA bundle lists of each binary
  util         logging, formatting, apt-get
  cli          argument parsing, the private mount namespace, signals; `main()`
  core         `Bench`: the state of one run and the helpers every scenario shares
  binaries     our binary (copied), the Go helper, the C exec wrapper hyperfine needs
  environment  the clean environment and the two CA settings (distro bundle, AWS_CA_BUNDLE)
  servers      moto over TLS with its CONNECT proxy, a refused port, a black-holed listener
  hyperfine    interleaved hyperfine rounds (ours and Go alternating) and their samples
  scenarios/   warm, cold, footprint (version, RSS, size, instructions), concurrency, unreachable
  report       the Markdown table, the CPU table, the notes, latest.md / latest.json
  profile      --profile: strace and callgrind of our own `get`
"""
