// synwave-run: runs an unmodified program with its AF_INET TCP sockets on a synwave daemon.
//
//   synwave-run [--prefix P] [--fallback] [--busy-poll US] -- COMMAND [ARGS...]
//
// Puts libsynwave-preload.so in front of the program (LD_PRELOAD, kept ahead of what was there)
// and executes it. Everything else the program does goes to the kernel (docs/preload.md).
#include <limits.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

void usage(FILE* out) {
  std::fprintf(out,
               "usage: synwave-run [--prefix P] [--fallback] [--busy-poll US] -- COMMAND [ARGS...]\n"
               "\n"
               "Runs COMMAND with its IPv4 TCP sockets on the synwave daemon whose EAL file prefix is P\n"
               "(default: $SYNWAVE_PREFIX, else \"synwave\"). Other sockets, files and pipes stay the kernel's.\n"
               "\n"
               "  --prefix P      the daemon to use\n"
               "  --fallback      when no daemon answers, use the kernel's TCP (else socket() fails)\n"
               "  --busy-poll US  spin this many microseconds before sleeping (SYNWAVE_BUSY_POLL_US)\n"
               "  SYNWAVE_PRELOAD_LIB overrides the library's path.\n");
}

bool readable(const std::string& path) { return !path.empty() && access(path.c_str(), R_OK) == 0; }

// The library next to this build of synwave-run, or the installed one.
std::string preload_library() {
  if (const char* v = std::getenv("SYNWAVE_PRELOAD_LIB"); v != nullptr && *v != '\0') return v;
  char self[PATH_MAX] = {};
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  const std::string exe = n > 0 ? std::string(self, static_cast<std::size_t>(n)) : std::string();
  const std::string build_dir = SYNWAVE_BUILD_ROOT;
  if (!exe.empty() && exe.rfind(build_dir + "/", 0) == 0 && readable(SYNWAVE_PRELOAD_BUILD)) return SYNWAVE_PRELOAD_BUILD;
  return SYNWAVE_PRELOAD_INSTALLED;
}

}  // namespace

int main(int argc, char** argv) {
  int i = 1;
  for (; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg == "--prefix" && i + 1 < argc) {
      setenv("SYNWAVE_PREFIX", argv[++i], 1);
    } else if (arg == "--fallback") {
      setenv("SYNWAVE_FALLBACK", "kernel", 1);
    } else if (arg == "--busy-poll" && i + 1 < argc) {
      setenv("SYNWAVE_BUSY_POLL_US", argv[++i], 1);
    } else if (arg == "-h" || arg == "--help") {
      usage(stdout);
      return 0;
    } else if (arg.rfind("-", 0) == 0) {
      std::fprintf(stderr, "synwave-run: unknown option %s\n", arg.c_str());
      usage(stderr);
      return 2;
    } else {
      break;  // the command, without "--"
    }
  }
  if (i >= argc) {
    usage(stderr);
    return 2;
  }
  const std::string library = preload_library();
  if (!readable(library)) {
    std::fprintf(stderr, "synwave-run: %s: %s (set SYNWAVE_PRELOAD_LIB)\n", library.c_str(), std::strerror(errno));
    return 127;
  }
  std::string preload = library;
  // A sanitizer build of the library needs the sanitizer's runtime first (meson.build).
  if (const std::string runtime = SYNWAVE_SANITIZER_RUNTIME; !runtime.empty()) preload = runtime + ":" + preload;
  if (const char* existing = std::getenv("LD_PRELOAD"); existing != nullptr && *existing != '\0')
    preload += std::string(":") + existing;
  setenv("LD_PRELOAD", preload.c_str(), 1);
  execvp(argv[i], argv + i);
  std::fprintf(stderr, "synwave-run: %s: %s\n", argv[i], std::strerror(errno));
  return errno == ENOENT ? 127 : 126;
}
