// Package squidconf reads a Squid configuration (squid.conf, Squid 5 and 6
// syntax) into a typed model of what it says about access: the ACLs, the
// http_access lines in order, the auth_param schemes and the http_ports,
// each element with its file and line. Reading does not translate:
// [Translate] turns a [Config] into the lab proxy's rules as a separate
// step ([Policy]), and refuses what it cannot express, line by line,
// never allowing silently. What Translate makes of each ACL type, and of
// proxy_auth's place on a line, is in its documentation; the
// differential test (TestDifferentialSquid, build tag squid) sends the
// same requests to real Squid and to the lab's proxy for every testdata
// configuration and requires the same decision for each.
//
// The reader follows Squid's own parser (squid-cache/squid, src/cache_cf.cc,
// src/ConfigParser.cc, src/acl/*) and the directive reference at
// squid-cache.org/Doc/config/ (acl, http_access, auth_param, http_port,
// include, configuration_includes_quoted_values):
//   - lines: leading white space is dropped; a line whose first character
//     is '#' is a comment, also between continued lines; a trailing
//     backslash joins the next line; a '#' that starts a word ends the
//     line; if/else/endif are evaluated with Squid's macros
//     (${process_number} is 0, ${service_name} and ${process_name} are
//     "squid");
//   - include: each word is a glob, relative to the including file's
//     directory; nested at most [MaxIncludeDepth] deep; an include loop,
//     a pattern that matches nothing or a command ("!cmd") is an error
//     naming the chain of include lines;
//   - acl: several lines with one name add their values to one ACL and
//     must agree on the type (an error names the first line); the values
//     of dst, src, port, proto and the regular expressions are checked
//     and parsed; a quoted value ("/path/file") is a file of values, one a
//     line, '#' comments allowed, at most [DefaultMaxFileSize] bytes; the
//     ACLs Squid predefines (all, manager, localhost, to_localhost,
//     to_linklocal, CONNECT) are there from the start;
//   - http_access: every ACL must be defined before the line, as Squid
//     requires;
//   - every other directive is listed in [Config.NotImported] with its
//     line and the reason; [WithStrict] makes that an error.
//
// Where Squid quietly does something surprising, the reader says so
// instead: values after a file of values on the same acl line (Squid drops
// them), an unknown proto (Squid ignores it), an unopenable file of values
// (Squid logs and goes on) are errors here.
//
// Squid 5 and 6 differ where this reader must choose: Squid 6 predefines
// to_linklocal ([WithSquidVersion] 5 leaves it out); Squid 5 skips a
// regular expression that does not compile, Squid 6 refuses it, and so
// does this reader. An ACL type a given build of Squid lacks is still
// read: Debian's squid package is built with GnuTLS and refuses
// ssl::server_name ("Invalid ACL type"), which a Squid built with OpenSSL
// accepts.
//
// A dstdomain or ssl::server_name value that a wildcard before it covers
// is kept but listed in [Config.Warnings], as Squid warns and drops it; a
// value that covers one before it (".example.com" after
// "www.example.com") is an error, as in Squid.
//
// The reader never panics and never reads anything but regular files, each
// bounded in size; it is fuzzed (FuzzReadBytes).
package squidconf
