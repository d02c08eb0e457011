package mock_test

import (
	"bytes"
	"encoding/json"
	"image/png"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/mock"
)

// TestCaptchaAnswer: the lab reads a CAPTCHA's text by its ID until it is
// used or expires; the JSON API still hands it out as the challenge.
func TestCaptchaAnswer(t *testing.T) {
	t.Parallel()
	clock := &mock.Clock{}
	clock.Freeze()
	l := newLab(t, mock.WithClock(clock))
	c := l.post(t, "/captcha", struct{}{})
	require.Equal(t, http.StatusOK, c.Status, c.Raw)
	var got mock.Captcha
	require.NoError(t, json.Unmarshal([]byte(c.Raw), &got))
	answer, ok := l.svc.CaptchaAnswer(got.ID)
	require.True(t, ok)
	assert.Equal(t, got.Challenge, answer)
	_, ok = l.svc.CaptchaAnswer("no-such-captcha")
	assert.False(t, ok)

	// Single use: once begin has seen it, it is gone, right or wrong.
	r := l.post(t, "/begin", map[string]string{"userId": "adele@contoso.com", "captchaId": got.ID, "captchaAnswer": "wrong"})
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	assert.Equal(t, mock.StatusWrongCaptcha, r.View.Status)
	_, ok = l.svc.CaptchaAnswer(got.ID)
	assert.False(t, ok)

	// Expired.
	fresh, err := l.svc.NewCaptcha()
	require.NoError(t, err)
	clock.Advance(mock.DefaultCaptchaTTL + time.Second)
	_, ok = l.svc.CaptchaAnswer(fresh.ID)
	assert.False(t, ok)
}

// TestCaptchaImageHTTP: the portal serves a CAPTCHA as a PNG picture of a
// sane size while it can be used, and 404 once it is used or for an ID it
// never issued.
func TestCaptchaImageHTTP(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	c, err := l.svc.NewCaptcha()
	require.NoError(t, err)
	u := l.api.URL + mock.PortalPath + "/captcha/" + c.ID + ".png"
	resp, err := l.api.Client().Get(u)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "image/png", resp.Header.Get("Content-Type"))
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))
	img, err := png.Decode(bytes.NewReader(body))
	require.NoError(t, err)
	b := img.Bounds()
	assert.True(t, b.Dx() >= 120 && b.Dx() <= 400 && b.Dy() >= 40 && b.Dy() <= 120, "size %v", b.Size())
	assert.NotContains(t, string(body), c.Challenge, "the answer is not in the file as text")

	for name, id := range map[string]string{"unknown": "00112233445566778899aabbccddeeff", "used": c.ID} {
		if name == "used" {
			l.post(t, "/begin", map[string]string{"userId": "adele@contoso.com", "captchaId": c.ID, "captchaAnswer": c.Challenge})
		}
		resp, err := l.api.Client().Get(l.api.URL + mock.PortalPath + "/captcha/" + id + ".png")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusNotFound, resp.StatusCode, name)
	}
}

// TestFavicon: browsers ask every site for /favicon.ico; the portal has one.
func TestFavicon(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	resp, err := l.api.Client().Get(l.api.URL + mock.FaviconPath)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "image/x-icon", resp.Header.Get("Content-Type"))
	assert.Equal(t, []byte{0, 0, 1, 0}, body[:4], "an ICO file")
}
