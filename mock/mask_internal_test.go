package mock

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMaskPhone(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"+1 4255550100":   "+1 XXXXXXXX00",
		"+44 7700900123":  "+44 XXXXXXXX23",
		"+1 425 555 0100": "+1 XXX XXX XX00",
		"+14255550100":    "+XXXXXXXXX00",
		"4255550100":      "XXXXXXXX00",
		" +33 612345678 ": "+33 XXXXXXX78",
		"12":              "XX",
		"":                "",
	} {
		assert.Equal(t, want, maskPhone(in), "maskPhone(%q)", in)
	}
}
