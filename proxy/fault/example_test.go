package fault_test

import (
	"encoding/json"
	"fmt"

	"github.com/egresslab/egresslab/proxy/fault"
)

func ExampleSpec_Validate() {
	var s fault.Spec
	if err := json.Unmarshal([]byte(`{"kind":"latency","delay":"150ms"}`), &s); err != nil {
		panic(err)
	}
	fmt.Println(s.Kind, s.Delay, s.Validate())

	bad := fault.Spec{Kind: fault.Status, Status: 500, Bytes: 10}
	fmt.Println(bad.Validate())
	// Output:
	// latency 150ms <nil>
	// bytes: the status fault does not use it (only close-after does)
	// status: 500 is not one of 502, 503, 504
}

func ExampleDuration() {
	out, _ := json.Marshal(fault.Spec{Kind: fault.Latency, Delay: fault.Duration(1500e6)})
	fmt.Println(string(out))
	// Output:
	// {"kind":"latency","delay":"1.5s"}
}
