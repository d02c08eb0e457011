package mock

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCaptchaFont: every character the CAPTCHA may hold has a 5x7 glyph,
// and no two glyphs are the same.
func TestCaptchaFont(t *testing.T) {
	t.Parallel()
	seen := map[[7]string]rune{}
	for _, r := range captchaAlphabet {
		g, ok := captchaFont[r]
		require.True(t, ok, "no glyph for %q", r)
		for i, row := range g {
			assert.Len(t, row, 5, "%q row %d", r, i)
		}
		if other, dup := seen[g]; dup {
			t.Errorf("%q and %q share a glyph", r, other)
		}
		seen[g] = r
	}
	assert.Len(t, captchaFont, len(captchaAlphabet), "no glyph for a character the alphabet lacks")
}

// TestCaptchaPNGDeterministic: one ID, one picture; another ID, another.
func TestCaptchaPNGDeterministic(t *testing.T) {
	t.Parallel()
	a, err := captchaPNG("0011", "ABC234")
	require.NoError(t, err)
	b, err := captchaPNG("0011", "ABC234")
	require.NoError(t, err)
	c, err := captchaPNG("0012", "ABC234")
	require.NoError(t, err)
	assert.Equal(t, a, b)
	assert.NotEqual(t, a, c)
	_, err = captchaPNG("0011", "ABO")
	assert.ErrorContains(t, err, `no glyph for 'O'`)
	img, err := png.Decode(bytes.NewReader(a))
	require.NoError(t, err)
	assert.Equal(t, captchaWidth, img.Bounds().Dx())
	if dir := os.Getenv("EGRESSLAB_SCREENSHOT_DIR"); dir != "" {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "captcha.png"), a, 0o644))
	}
}

// TestFaviconICO: an ICO directory of one 32x32 PNG entry whose size and
// offset fit the file.
func TestFaviconICO(t *testing.T) {
	t.Parallel()
	b, err := favicon()
	require.NoError(t, err)
	require.Greater(t, len(b), 22)
	assert.Equal(t, []byte{0, 0, 1, 0, 1, 0}, b[:6], "ICONDIR: reserved, type 1 (icon), one image")
	assert.Equal(t, byte(faviconSize), b[6])
	assert.Equal(t, byte(faviconSize), b[7])
	size := int(b[14]) | int(b[15])<<8 | int(b[16])<<16 | int(b[17])<<24
	offset := int(b[18]) | int(b[19])<<8 | int(b[20])<<16 | int(b[21])<<24
	require.Equal(t, 22, offset)
	require.Equal(t, len(b), offset+size)
	img, err := png.Decode(bytes.NewReader(b[offset:]))
	require.NoError(t, err)
	assert.Equal(t, faviconSize, img.Bounds().Dx())
	if dir := os.Getenv("EGRESSLAB_SCREENSHOT_DIR"); dir != "" {
		require.NoError(t, os.WriteFile(filepath.Join(dir, "favicon.png"), b[offset:], 0o644))
	}
}
