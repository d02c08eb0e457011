package mock_test

import (
	"encoding/json"
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
