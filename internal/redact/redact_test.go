package redact_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/egresslab/egresslab/internal/redact"
)

func TestUserinfo(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"http://bob:S3cret@proxy:3128":      "http://***@proxy:3128",
		"bob:S3cret@proxy:bad":              "***@proxy:bad",
		"http://a@b@host/x":                 "http://***@host/x",
		"http://host/path@x":                "http://host/***@x",
		"//user:pass@host/":                 "//***@host/",
		"http:/user:pass@host/":             "http:/***@host/",
		"http:user:pass@host/":              "***@host/",
		"host:443":                          "host:443",
		"https://u:p@h.example:443/n?q=a@b": "https://***@h.example:443/***@b",
		"allowed.com@evil.com:443":          "***@evil.com:443",
	} {
		assert.Equal(t, want, redact.Userinfo(in), in)
	}
}
