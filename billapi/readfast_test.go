package billapi

import (
	"reflect"
	"testing"
)

// TestReadFastMatchesTolerant: whatever path readFast takes, an entity
// reads exactly as decodeTolerant alone reads it.
func TestReadFastMatchesTolerant(t *testing.T) {
	tests := []struct {
		name string
		in   string
	}{
		{"documented shape", `{"entity":"Customer","id":"0cu01ABCDEFGHIJKLMNO","name":"Acme","isActive":"1","balance":12.5,"hasBankAccount":true}`},
		{"flag as a string", `{"id":"0cu01ABCDEFGHIJKLMNO","name":"Acme","hasBankAccount":"true"}`},
		{"number as a string", `{"id":"0cu01ABCDEFGHIJKLMNO","balance":"12.50"}`},
		{"enum as a number", `{"id":"0cu01ABCDEFGHIJKLMNO","isActive":1}`},
		{"names in another case", `{"ID":"0cu01ABCDEFGHIJKLMNO","Name":"Acme"}`},
		{"nulls and unknown fields", `{"id":"0cu01ABCDEFGHIJKLMNO","name":null,"somethingNew":{"x":[1,2]}}`},
		{"empty number", `{"id":"0cu01ABCDEFGHIJKLMNO","balance":""}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fast, slow Customer
			errFast := fast.UnmarshalJSON([]byte(tt.in))
			errSlow := decodeTolerant([]byte(tt.in), &slow)
			if (errFast == nil) != (errSlow == nil) || !reflect.DeepEqual(fast, slow) {
				t.Fatalf("readFast = %+v, %v; decodeTolerant = %+v, %v", fast, errFast, slow, errSlow)
			}
		})
	}
	var e envelope
	if err := e.UnmarshalJSON([]byte(" null ")); err == nil {
		t.Fatal("a null envelope was accepted")
	}
}
