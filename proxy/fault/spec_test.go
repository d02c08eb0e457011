package fault_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/egresslab/egresslab/proxy/fault"
)

func ms(n int) fault.Duration { return fault.Duration(time.Duration(n) * time.Millisecond) }

func TestSpecValidate(t *testing.T) {
	t.Parallel()
	const kinds = "reset, close-after, latency, bandwidth, stall, status, malformed"
	tests := map[string]struct {
		spec fault.Spec
		want []string // substrings of the error; none: valid
	}{
		"reset":                      {spec: fault.Spec{Kind: fault.Reset}},
		"stall":                      {spec: fault.Spec{Kind: fault.Stall}},
		"malformed":                  {spec: fault.Spec{Kind: fault.Malformed}},
		"close-after 1000":           {spec: fault.Spec{Kind: fault.CloseAfter, Bytes: 1000}},
		"close-after 0":              {spec: fault.Spec{Kind: fault.CloseAfter}},
		"latency 150ms":              {spec: fault.Spec{Kind: fault.Latency, Delay: ms(150)}},
		"bandwidth 1 B/s":            {spec: fault.Spec{Kind: fault.Bandwidth, Rate: 1}},
		"status 502":                 {spec: fault.Spec{Kind: fault.Status, Status: 502}},
		"status 503":                 {spec: fault.Spec{Kind: fault.Status, Status: 503}},
		"status 504":                 {spec: fault.Spec{Kind: fault.Status, Status: 504}},
		"no kind":                    {spec: fault.Spec{Bytes: 10}, want: []string{"kind: required (one of " + kinds + ")"}},
		"unknown kind":               {spec: fault.Spec{Kind: "gremlins"}, want: []string{`kind: unknown kind "gremlins": want one of ` + kinds}},
		"kind in capitals":           {spec: fault.Spec{Kind: "RESET"}, want: []string{`kind: unknown kind "RESET": want one of ` + kinds + ` (did you mean "reset"?)`}},
		"close-after negative bytes": {spec: fault.Spec{Kind: fault.CloseAfter, Bytes: -1}, want: []string{"bytes: -1 is negative"}},
		"reset negative bytes":       {spec: fault.Spec{Kind: fault.Reset, Bytes: -5}, want: []string{"bytes: -5 is negative"}},
		"reset with bytes":           {spec: fault.Spec{Kind: fault.Reset, Bytes: 10}, want: []string{"bytes: the reset fault does not use it (only close-after does)"}},
		"latency with bytes":         {spec: fault.Spec{Kind: fault.Latency, Delay: ms(1), Bytes: 10}, want: []string{"bytes: the latency fault does not use it"}},
		"latency without delay":      {spec: fault.Spec{Kind: fault.Latency}, want: []string{"delay: the latency fault needs a positive delay (e.g. 150ms), got 0s"}},
		"latency negative delay":     {spec: fault.Spec{Kind: fault.Latency, Delay: ms(-150)}, want: []string{"delay: the latency fault needs a positive delay (e.g. 150ms), got -150ms"}},
		"stall with delay":           {spec: fault.Spec{Kind: fault.Stall, Delay: ms(5)}, want: []string{"delay: the stall fault does not use it (only latency does)"}},
		"close-after with delay":     {spec: fault.Spec{Kind: fault.CloseAfter, Bytes: 1, Delay: ms(-5)}, want: []string{"delay: the close-after fault does not use it"}},
		"bandwidth without rate":     {spec: fault.Spec{Kind: fault.Bandwidth}, want: []string{"rate: the bandwidth fault needs a positive rate in bytes per second, got 0"}},
		"bandwidth negative rate":    {spec: fault.Spec{Kind: fault.Bandwidth, Rate: -1}, want: []string{"rate: the bandwidth fault needs a positive rate in bytes per second, got -1"}},
		"malformed with rate":        {spec: fault.Spec{Kind: fault.Malformed, Rate: 100}, want: []string{"rate: the malformed fault does not use it (only bandwidth does)"}},
		"bandwidth with status":      {spec: fault.Spec{Kind: fault.Bandwidth, Rate: 1, Status: 503}, want: []string{"status: the bandwidth fault does not use it (only status does)"}},
		"status without status":      {spec: fault.Spec{Kind: fault.Status}, want: []string{"status: required for the status fault (502, 503 or 504)"}},
		"status 500":                 {spec: fault.Spec{Kind: fault.Status, Status: 500}, want: []string{"status: 500 is not one of 502, 503, 504"}},
		"status 200":                 {spec: fault.Spec{Kind: fault.Status, Status: 200}, want: []string{"status: 200 is not one of 502, 503, 504"}},
		"status with bytes":          {spec: fault.Spec{Kind: fault.Status, Status: 502, Bytes: 1}, want: []string{"bytes: the status fault does not use it"}},
		"every field wrong at once": {
			spec: fault.Spec{Kind: fault.Latency, Bytes: 1, Rate: 2, Status: 502},
			want: []string{"bytes: the latency", "delay: the latency fault needs", "rate: the latency", "status: the latency"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := tc.spec.Validate()
			if len(tc.want) == 0 {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestDurationText(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		text string
		want time.Duration
		out  string // MarshalText of the result
	}{
		"milliseconds": {"150ms", 150 * time.Millisecond, "150ms"},
		"seconds":      {"2s", 2 * time.Second, "2s"},
		"composite":    {"1m30s", 90 * time.Second, "1m30s"},
		"fraction":     {"1.5s", 1500 * time.Millisecond, "1.5s"},
		"microseconds": {"250us", 250 * time.Microsecond, "250µs"},
		"zero":         {"0", 0, "0s"},
		"negative":     {"-5ms", -5 * time.Millisecond, "-5ms"}, // read; Validate refuses it for latency
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var d fault.Duration
			require.NoError(t, d.UnmarshalText([]byte(tc.text)))
			assert.Equal(t, tc.want, time.Duration(d))
			out, err := d.MarshalText()
			require.NoError(t, err)
			assert.Equal(t, tc.out, string(out))
			var again fault.Duration
			require.NoError(t, again.UnmarshalText(out))
			assert.Equal(t, d, again, "round trip")
		})
	}
}

func TestDurationTextRejects(t *testing.T) {
	t.Parallel()
	for _, text := range []string{"", "150", "abc", "1x", "ms", "1.2.3s", " 150ms", "150 ms"} {
		t.Run(text, func(t *testing.T) {
			t.Parallel()
			d := fault.Duration(time.Second)
			err := d.UnmarshalText([]byte(text))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "want a number with a unit, such as 150ms or 2s")
			assert.Equal(t, fault.Duration(time.Second), d, "unchanged")
		})
	}
}

func TestSpecJSON(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		json string
		spec fault.Spec
	}{
		"reset":       {`{"kind":"reset"}`, fault.Spec{Kind: fault.Reset}},
		"close-after": {`{"kind":"close-after","bytes":1000}`, fault.Spec{Kind: fault.CloseAfter, Bytes: 1000}},
		"latency":     {`{"kind":"latency","delay":"150ms"}`, fault.Spec{Kind: fault.Latency, Delay: ms(150)}},
		"bandwidth":   {`{"kind":"bandwidth","rate":262144}`, fault.Spec{Kind: fault.Bandwidth, Rate: 256 << 10}},
		"status":      {`{"kind":"status","status":503}`, fault.Spec{Kind: fault.Status, Status: 503}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var got fault.Spec
			require.NoError(t, json.Unmarshal([]byte(tc.json), &got))
			assert.Equal(t, tc.spec, got)
			out, err := json.Marshal(tc.spec)
			require.NoError(t, err)
			assert.JSONEq(t, tc.json, string(out))
		})
	}
}

func TestSpecJSONRejectsABadDelay(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"no unit":   `{"kind":"latency","delay":"150"}`,
		"a number":  `{"kind":"latency","delay":150}`,
		"not text":  `{"kind":"latency","delay":true}`,
		"bad units": `{"kind":"latency","delay":"150 parsecs"}`,
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var s fault.Spec
			assert.Error(t, json.Unmarshal([]byte(in), &s))
		})
	}
}
