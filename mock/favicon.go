package mock

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strconv"
	"sync"
)

// FaviconPath is the portal's icon, which browsers ask for on every page.
const FaviconPath = "/favicon.ico"

// faviconSize is the icon's width and height in pixels.
const faviconSize = 32

// favicon is the portal's icon as an ICO file holding one PNG image (the
// form Windows Vista and every current browser read): a white padlock on
// a blue rounded square. It is drawn once, on first use.
var favicon = sync.OnceValues(func() ([]byte, error) {
	const n = faviconSize
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	blue := color.NRGBA{0x0f, 0x6c, 0xbd, 0xff}
	white := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	inRoundedSquare := func(x, y int) bool {
		const r = 6 // corner radius
		cx, cy := min(max(x, r), n-1-r), min(max(y, r), n-1-r)
		dx, dy := x-cx, y-cy
		return dx*dx+dy*dy <= r*r
	}
	for y := range n {
		for x := range n {
			switch {
			case !inRoundedSquare(x, y):
				// transparent
			case x >= 8 && x <= 23 && y >= 14 && y <= 26: // the lock's body
				img.SetNRGBA(x, y, white)
				if dx, dy := x-16, y-19; dx*dx+dy*dy <= 4 || (x >= 15 && x <= 16 && y >= 19 && y <= 23) {
					img.SetNRGBA(x, y, blue) // the keyhole
				}
			default:
				img.SetNRGBA(x, y, blue)
				// The shackle: a half ring above the body, with its legs.
				dx, dy := float64(x)-15.5, float64(y)-12
				d2 := dx*dx + dy*dy
				if (y <= 12 && d2 >= 16 && d2 <= 36) || (y > 12 && y < 14 && (x >= 10 && x <= 11 || x >= 20 && x <= 21)) {
					img.SetNRGBA(x, y, white)
				}
			}
		}
	}
	var pngData bytes.Buffer
	if err := png.Encode(&pngData, img); err != nil {
		return nil, fmt.Errorf("favicon: %w", err)
	}
	// ICONDIR, then one ICONDIRENTRY, then the PNG.
	var ico bytes.Buffer
	_ = binary.Write(&ico, binary.LittleEndian, struct {
		Reserved, Type, Count uint16
		Width, Height         uint8
		Colors, Reserved2     uint8
		Planes, BitCount      uint16
		Size, Offset          uint32
	}{Type: 1, Count: 1, Width: n, Height: n, Planes: 1, BitCount: 32, Size: uint32(pngData.Len()), Offset: 6 + 16})
	ico.Write(pngData.Bytes())
	return ico.Bytes(), nil
})

// serveFavicon serves the icon, cacheable for a day.
func (s *Service) serveFavicon(w http.ResponseWriter, r *http.Request) {
	b, err := favicon()
	if err != nil {
		s.logger.Error("mock: favicon", "err", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	writeImage(w, r, "image/x-icon", "public, max-age=86400", b)
}

// writeImage answers with an image made in memory: its type, length and
// caching, never sniffed; no body for HEAD.
func writeImage(w http.ResponseWriter, r *http.Request, contentType, cacheControl string, b []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("Cache-Control", cacheControl)
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
}
