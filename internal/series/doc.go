// Package series reads a kernel patch series and applies it to a kernel
// source tree. kcovlab uses it to build kernels with the "Coverage
// deduplication for KCOV" series (or any other) applied to a plain source
// tree such as Debian's unpacked linux-source tarball, which is not a git
// repository.
//
// A Series comes from an mbox (ParseMbox: git format-patch --stdout, b4 am
// or a lore thread; quoted-printable, base64, RFC 2047 headers and mboxrd
// ">From " quoting are handled), a directory of format-patch files
// (ParseDir), or a revision range of a git repository (FromGitRange); Load
// picks one from a spec string. Patches are ordered by their [PATCH vN M/T]
// numbers; the cover letter is kept apart and an incomplete or mixed series
// is refused with a *SeriesError that says which numbers are wrong.
//
// Check and Apply apply the series with a small built-in unified-diff
// applier: no patch(1), no git. Like `git apply` without fuzz, every hunk's
// whole pre-image must match exactly, at its stated line or the nearest
// offset. The series is applied in memory first, so Apply writes nothing
// unless every hunk of every patch applies; a failure is an *ApplyError that
// names the patch, file and hunk and shows the first line that differs.
// Renames and mode changes are supported; binary patches are not.
//
// Host needs: nothing, except git for FromGitRange.
//
// Tests: go test -short ./internal/series/ runs everything against the real
// mboxes in patches/upstream, synthetic trees and
// the fixtures in testdata/ (testdata/broken is a deliberately broken series
// against the 6.12 kernel/kcov.c that the e2e suite reuses). Golden files
// are rewritten with -update. Without -short a test also checks the broken
// fixture against /tmp/proto/linux-source-6.12 when that tree exists.
package series
