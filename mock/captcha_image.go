package mock

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"net/http"

	"github.com/gorilla/mux"
)

// The CAPTCHA picture: its size in pixels, and how much each 5x7 glyph
// cell is scaled.
const (
	captchaWidth  = 208
	captchaHeight = 64
	captchaScale  = 4
	captchaCell   = 32 // horizontal room per character
)

// captchaImagePath is where the portal serves the picture of a CAPTCHA.
func captchaImagePath(id string) string { return PortalPath + "/captcha/" + id + ".png" }

// captchaFont is a 5x7 bitmap font for the CAPTCHA alphabet
// (captchaAlphabet): letters without I and O, digits without 0 and 1, so
// that no two characters look alike.
var captchaFont = map[rune][7]string{
	'A': {".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"},
	'B': {"####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."},
	'C': {".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."},
	'D': {"####.", "#...#", "#...#", "#...#", "#...#", "#...#", "####."},
	'E': {"#####", "#....", "#....", "####.", "#....", "#....", "#####"},
	'F': {"#####", "#....", "#....", "####.", "#....", "#....", "#...."},
	'G': {".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".###."},
	'H': {"#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"},
	'J': {"..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."},
	'K': {"#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"},
	'L': {"#....", "#....", "#....", "#....", "#....", "#....", "#####"},
	'M': {"#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"},
	'N': {"#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#"},
	'P': {"####.", "#...#", "#...#", "####.", "#....", "#....", "#...."},
	'Q': {".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"},
	'R': {"####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"},
	'S': {".####", "#....", "#....", ".###.", "....#", "....#", "####."},
	'T': {"#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."},
	'U': {"#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."},
	'V': {"#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.."},
	'W': {"#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."},
	'X': {"#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"},
	'Y': {"#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."},
	'Z': {"#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"},
	'2': {".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"},
	'3': {"#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."},
	'4': {"...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."},
	'5': {"#####", "#....", "####.", "....#", "....#", "#...#", ".###."},
	'6': {"..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."},
	'7': {"#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."},
	'8': {".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."},
	'9': {".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."},
}

// captchaPalette: the background, two faint noise colours, a line colour
// and the ink of the characters.
var captchaPalette = color.Palette{
	color.RGBA{0xf4, 0xf5, 0xf7, 0xff}, // background
	color.RGBA{0xcf, 0xd6, 0xe0, 0xff}, // speckles
	color.RGBA{0xe0, 0xcf, 0xcf, 0xff}, // speckles
	color.RGBA{0x8a, 0x96, 0xa8, 0xff}, // strike-through lines
	color.RGBA{0x1f, 0x29, 0x37, 0xff}, // ink
	color.RGBA{0x23, 0x39, 0x5b, 0xff},
	color.RGBA{0x4a, 0x1c, 0x40, 0xff},
	color.RGBA{0x14, 0x4d, 0x3a, 0xff},
}

const captchaFirstInk = 4

// captchaPNG draws text as a distorted but readable picture: each
// character shifted, sheared and inked on its own, the whole bent by a
// wave, then crossed by thin lines and speckled. The same id always gives
// the same picture.
func captchaPNG(id, text string) ([]byte, error) {
	sum := sha256.Sum256([]byte(id))
	rng := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(sum[:8]), binary.LittleEndian.Uint64(sum[8:16])))
	between := func(lo, hi float64) float64 { return lo + rng.Float64()*(hi-lo) }

	// Ink the characters on a layer of palette indices.
	ink := make([]uint8, captchaWidth*captchaHeight)
	gw, gh := 5*captchaScale, 7*captchaScale
	left := (captchaWidth - len(text)*captchaCell) / 2
	for i, r := range []rune(text) {
		glyph, ok := captchaFont[r]
		if !ok {
			return nil, fmt.Errorf("captcha: no glyph for %q", r)
		}
		x0 := left + i*captchaCell + (captchaCell-gw)/2 + int(between(-3, 3))
		y0 := (captchaHeight-gh)/2 + int(between(-7, 7))
		shear := between(-0.35, 0.35)
		c := uint8(captchaFirstInk + rng.IntN(len(captchaPalette)-captchaFirstInk))
		for py := 0; py < gh; py++ {
			shift := int(math.Round(shear * float64(py-gh/2)))
			row := glyph[py/captchaScale]
			for px := 0; px < gw; px++ {
				if row[px/captchaScale] != '#' {
					continue
				}
				x, y := x0+px+shift, y0+py
				if x >= 0 && x < captchaWidth && y >= 0 && y < captchaHeight {
					ink[y*captchaWidth+x] = c
				}
			}
		}
	}

	img := image.NewPaletted(image.Rect(0, 0, captchaWidth, captchaHeight), captchaPalette)
	// Speckles first, so that the characters stay on top.
	for range 260 {
		img.SetColorIndex(rng.IntN(captchaWidth), rng.IntN(captchaHeight), uint8(1+rng.IntN(2)))
	}
	// Bend the layer with a wave.
	amp, period, phase := between(2, 4), between(60, 110), between(0, 2*math.Pi)
	for x := range captchaWidth {
		dy := int(math.Round(amp * math.Sin(2*math.Pi*float64(x)/period+phase)))
		for y := range captchaHeight {
			sy := y + dy
			if sy < 0 || sy >= captchaHeight {
				continue
			}
			if c := ink[sy*captchaWidth+x]; c != 0 {
				img.SetColorIndex(x, y, c)
			}
		}
	}
	// Two thin lines across the text, each a gentle curve.
	for range 2 {
		y, slope, bend := between(18, captchaHeight-18), between(-0.15, 0.15), between(-6, 6)
		for x := range captchaWidth {
			t := float64(x) / captchaWidth
			yy := int(math.Round(y + slope*float64(x-captchaWidth/2) + bend*math.Sin(math.Pi*t)))
			if yy >= 0 && yy < captchaHeight {
				img.SetColorIndex(x, yy, 3)
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("captcha: %w", err)
	}
	return buf.Bytes(), nil
}

// serveCaptchaImage serves the picture of a CAPTCHA the service issued and
// that can still be used; any other ID is 404.
func (s *Service) serveCaptchaImage(w http.ResponseWriter, r *http.Request) {
	id := mux.Vars(r)["id"]
	text, ok := s.CaptchaAnswer(id)
	if !ok {
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, "no such CAPTCHA: it was used, has expired or never was", http.StatusNotFound)
		return
	}
	b, err := captchaPNG(id, text)
	if err != nil {
		s.logger.Error("mock: captcha picture", "err", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	writeImage(w, r, "image/png", "no-store", b)
}
