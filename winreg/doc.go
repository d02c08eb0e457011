// Package winreg reads Windows registry export files (.reg), strictly.
//
// The format is Regedit's export format, the one `reg export` and
// Regedit's File > Export write, described in Microsoft Learn: "How to add,
// modify, or delete registry subkeys and values by using a .reg file"
// (KB310516). A file is:
//
//   - encoded as UTF-16LE with the byte-order mark FF FE (what `reg export`
//     and Regedit write on Windows 2000 and later), or as UTF-8 with or
//     without the byte-order mark EF BB BF; UTF-8 must be valid, UTF-16
//     must have an even number of bytes and no unpaired surrogate, and no
//     NUL character may appear in the text (a UTF-16 file that lost its
//     byte-order mark is refused, not guessed); lines end with CRLF or LF;
//   - headed by the line "Windows Registry Editor Version 5.00", or
//     "REGEDIT4" for the Windows 95/NT 4 format, as its first non-empty
//     line;
//   - then keys, [HKEY_LOCAL_MACHINE\SOFTWARE\...], each followed by its
//     values, "Name"=data or @=data for the key's default value; a key
//     written [-HKEY_...] is deleted with its subkeys, a value written
//     "Name"=- is deleted;
//   - comment lines starting with ';', and blank lines.
//
// Value data is one of: a string "text" (REG_SZ, with the escapes \\ and
// \" only); dword:0000001f (REG_DWORD: exactly 8 hex digits, what Regedit
// and reg export write; shorter forms such as dword:1 are refused); hex:
// followed by comma-separated two-digit hex bytes (REG_BINARY); or
// hex(N): with the type number N in hex (hex(0) REG_NONE, hex(2)
// REG_EXPAND_SZ, hex(7) REG_MULTI_SZ, hex(b) REG_QWORD, ...) followed by
// the bytes as the registry holds them. A byte list may end a line with
// ",\" and go on, after leading spaces, on the next line; the value's line
// is the line where it started.
//
// Strictness: anything else is an error naming FILE:LINE and what was
// wanted: a value outside a key, an unterminated string, an unknown
// escape, a bad dword or hex byte, a missing '=', an unknown root key,
// anything after a complete value but spaces and tabs (no end-of-line
// comments). All the errors of a file are reported, joined with
// [errors.Join], up to [MaxErrors]. Spaces and tabs at the start and end
// of a line are ignored; nothing else is lenient. Keywords (dword:, hex:,
// hex(N):) are lowercase as Regedit writes them; hex digits may be either
// case; root key names are matched without regard to case.
//
// In a REGEDIT4 file the strings inside hex(1), hex(2) and hex(7) data are
// in the machine's ANSI code page, one byte a character, where version
// 5.00 files hold UTF-16LE. The code page is not in the file, so only
// ASCII is accepted there, and it is widened to UTF-16LE: [Value.Data] is
// the same for both versions.
//
// Root keys are written in full in files (HKEY_LOCAL_MACHINE,
// HKEY_CURRENT_USER, HKEY_USERS, HKEY_CLASSES_ROOT, HKEY_CURRENT_CONFIG)
// and canonically abbreviated in paths (HKLM, HKCU, HKU, HKCR, HKCC).
// Key names are not case sensitive (Microsoft Learn, "Structure of the
// Registry"), and value names are matched without regard to case by the
// registry functions (RegQueryValueEx) too; the lookups here compare names
// upper-cased with Go's Unicode tables, which agree with the registry's
// own upcase table for ordinary names (not verified for every character).
// A key name is at most 255 characters and a value name at most 16,383
// (Microsoft Learn, "Registry element size limits"); longer ones are
// errors.
//
// [Parse] reads one file into an [Export], its keys in file order with
// their deletions. A [Registry] is the merge of exports applied in order,
// as importing them one after the other would leave the registry: later
// values override earlier ones, deletions remove. [Load] reads, parses
// and merges files, refusing anything but a regular file of at most
// [MaxFileSize] bytes.
//
// The Default user profile template (C:\Users\Default\NTUSER.DAT, which
// the temporary account of the sign-in screen inherits) is not a live
// key: a help desk exports it after `reg load HKU\<name>
// C:\Users\Default\NTUSER.DAT`, so its keys appear under
// HKEY_USERS\<name>\... with whatever name was chosen. The caller decides
// which HKU subkey is the Default profile; [Registry.Users] lists them.
package winreg
