package mock

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// ScriptAliasPath serves the portal's script unversioned on the CDN. The
// page itself loads it from a path that holds a hash of its content
// ([Service.ScriptPath]): the CDN serves it as immutable, so a browser that
// cached the script of an earlier run (whose canary differs) never meets a
// page it does not fit.
const ScriptAliasPath = "/ajax/passwordreset/sspr.js"

// script is the portal's client-side code. The page is useless without
// it, as the real one is: the page shows only "Something went wrong.
// Please try again later." unless the script replaces it with the form (a
// browser shows "Please wait" while it waits for the script, at most
// [ScriptWait]), and every form post must carry the canary that only the
// script knows.
type script struct {
	body      []byte
	path      string // versioned by content: /ajax/passwordreset/<hash>/sspr.min.js
	canary    string
	integrity string // Subresource Integrity of body
	modified  time.Time
}

// scriptSource is the script, with canaryPlaceholder where its canary
// goes.
//
//go:embed assets/sspr.js
var scriptSource string

const canaryPlaceholder = "__CANARY__"

func newScript() (script, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return script{}, fmt.Errorf("script canary: %w", err)
	}
	canary := hex.EncodeToString(b)
	body := []byte(strings.Replace(scriptSource, canaryPlaceholder, canary, 1))
	sri := sha512.Sum384(body)
	version := sha256.Sum256(body)
	return script{
		body:      body,
		path:      "/ajax/passwordreset/" + hex.EncodeToString(version[:8]) + "/sspr.min.js",
		canary:    canary,
		integrity: "sha384-" + base64.StdEncoding.EncodeToString(sri[:]),
		modified:  time.Now().UTC().Truncate(time.Second),
	}, nil
}

func (sc script) assets() []Asset {
	const ct = "application/javascript; charset=utf-8"
	return []Asset{
		{Path: sc.path, ContentType: ct, Body: sc.body, Modified: sc.modified},
		{Path: ScriptAliasPath, ContentType: ct, Body: sc.body, Modified: sc.modified},
	}
}
