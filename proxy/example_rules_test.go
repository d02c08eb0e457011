package proxy_test

import (
	"fmt"

	"github.com/egresslab/egresslab/proxy"
)

// A Squid policy, line by line: each http_access line is a Rule, each
// "!acl" a field of Not, and Line keeps the line for the journal.
func ExampleRule_squid() {
	rules := []proxy.Rule{
		// http_access deny !Safe_ports
		{Line: 12, Not: &proxy.Conditions{Ports: []int{80, 443}, PortRanges: []string{"1025-65535"}}, Action: proxy.Deny},
		// http_access deny CONNECT !SSL_ports
		{Line: 13, Methods: []string{"CONNECT"}, Not: &proxy.Conditions{Ports: []int{443}}, Action: proxy.Deny},
		// http_access allow CryptoAPI  (acl CryptoAPI browser ^Microsoft-CryptoAPI/)
		{Line: 14, UserAgents: []string{"^Microsoft-CryptoAPI/"}, Action: proxy.Allow},
		// http_access allow localnet authenticated
		{Line: 15, Src: []string{"10.0.0.0/8"}, Action: proxy.Authenticate},
	}
	for _, r := range rules {
		fmt.Println(r.Line, r.Validate())
	}
	bad := proxy.Rule{Src: []string{"10.0.0.0/33"}, PortRanges: []string{"65535-1"}, UserAgents: []string{"("}, Action: proxy.Allow}
	fmt.Println(bad.Validate())
	// Output:
	// 12 <nil>
	// 13 <nil>
	// 14 <nil>
	// 15 <nil>
	// portRanges[0]: "65535-1": the range ends before it begins
	// src[0]: bad CIDR prefix "10.0.0.0/33": netip.ParsePrefix("10.0.0.0/33"): prefix length out of range
	// userAgents[0]: bad regular expression "(": error parsing regexp: missing closing ): `(`
}
