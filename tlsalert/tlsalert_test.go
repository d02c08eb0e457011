package tlsalert_test

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/pki"
	"github.com/egresslab/egresslab/tlsalert"
)

// handshake runs a real TLS handshake over loopback TCP between a server
// with serverCfg and a client with clientCfg and returns the client's error.
func handshake(t *testing.T, serverCfg, clientCfg *tls.Config) error {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = tls.Server(c, serverCfg).Handshake()
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), clientCfg)
	if err == nil {
		c.Close()
	}
	<-done
	return err
}

func TestFromError(t *testing.T) {
	t.Parallel()
	a, err := pki.New()
	require.NoError(t, err)
	leaf, err := a.Issue(pki.Request{Hosts: []string{"example.test"}})
	require.NoError(t, err)
	server := &tls.Config{Certificates: []tls.Certificate{leaf.TLS}, MinVersion: tls.VersionTLS12}

	// A TLS 1.0 client meets a TLS 1.2+ server: the server sends alert 70.
	err = handshake(t, server, &tls.Config{RootCAs: a.Pool(), ServerName: "example.test", MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10})
	got, ok := tlsalert.FromError(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, tlsalert.ProtocolVersion, got)
	assert.Equal(t, "protocol_version(70)", got.String())

	// Wrapped errors are unwrapped.
	got, ok = tlsalert.FromError(fmt.Errorf("get portal: %w", err))
	assert.True(t, ok)
	assert.Equal(t, tlsalert.ProtocolVersion, got)

	// A verification failure is this side's, not a received alert.
	err = handshake(t, server, &tls.Config{ServerName: "example.test"})
	require.Error(t, err)
	_, ok = tlsalert.FromError(err)
	assert.False(t, ok, "%v", err)

	// The exported type is accepted as well.
	got, ok = tlsalert.FromError(tls.AlertError(tlsalert.UnknownCA))
	assert.True(t, ok)
	assert.Equal(t, tlsalert.UnknownCA, got)

	for _, e := range []error{nil, io.EOF, errors.New("remote error: tls: protocol version not supported"), &net.OpError{Op: "remote error"}} {
		_, ok := tlsalert.FromError(e)
		assert.False(t, ok, "%v", e)
	}
	assert.Equal(t, "alert(255)", tlsalert.Alert(255).String())
}
