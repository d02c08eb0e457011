// Package pac evaluates Proxy Auto-Config files and finds them with
// WPAD's DNS method: a URL in, the ordered list of proxies a browser or
// Windows would try out.
//
// A PAC file is JavaScript defining FindProxyForURL(url, host) (Netscape,
// "Navigator Proxy Auto-Config File Format", 1996) or Microsoft's
// FindProxyForURLEx(url, host) ("IPv6-aware proxy helper API
// definitions", WinHTTP documentation), which is preferred when both are
// defined. It returns a string such as "PROXY a:8080; SOCKS b:1080;
// DIRECT", read by ParseResult into []Proxy, tried in order.
//
// [Compile] compiles a file with goja (a JavaScript engine in pure Go);
// [Script.FindProxy] evaluates it for one URL. The helper functions are
// implemented in Go: isPlainHostName, dnsDomainIs, localHostOrDomainIs,
// isResolvable, isInNet, dnsResolve, myIpAddress, dnsDomainLevels,
// shExpMatch, weekdayRange, dateRange, timeRange (Netscape) and
// isResolvableEx, isInNetEx, dnsResolveEx, myIpAddressEx,
// sortIpAddressList, getClientVersion (Microsoft), plus a silent alert.
// Like Chromium, and unlike Windows, the Ex helpers are also available to
// FindProxyForURL.
//
// Nothing here touches the network on its own: names resolve only with
// [WithResolver] (the CLI's probe passes net.DefaultResolver, tests a
// stub), myIpAddress is 127.0.0.1 unless [WithMyIP] says otherwise, and
// [Discover] fetches through the caller's function.
//
// Bounds: a script of at most MaxScriptSize (1 MiB), an answer of at most
// MaxResultLen (64 KiB), each evaluation at most the timeout (default
// 1 s, [WithTimeout]; goja's Runtime.Interrupt stops a looping script),
// each lookup at most DefaultDNSTimeout (2 s) and at most 32 distinct
// names per evaluation. goja has no memory limit: a script allocating
// wildly within its time can still use much memory.
//
// WPAD: [WPADCandidates] and [Discover] do the DNS part (wpad.<domain>,
// devolving towards the second-level domain). The DHCP part (option 252)
// needs the operating system's DHCP client and is not done here.
package pac
