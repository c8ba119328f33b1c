package jsonscan_test

import (
	"fmt"

	"github.com/coattailcapital/ctc/internal/jsonscan"
)

func ExampleDecimal() {
	f, ok := jsonscan.Decimal([]byte("0.35280000"))
	fmt.Println(f, ok)
	_, ok = jsonscan.Decimal([]byte("NaN")) // strconv.ParseFloat would take it
	fmt.Println(ok)
	// Output:
	// 0.3528 true
	// false
}

func ExampleNumber() {
	data := []byte(`{"price":43250.12,"side":"buy"}`)
	f, end, ok := jsonscan.Number(data, len(`{"price":`))
	fmt.Println(f, string(data[end]), ok)
	// Output: 43250.12 , true
}

func ExampleString() {
	data := []byte(`"caf\u00e9",1`)
	end, fl, code := jsonscan.String(data, 0)
	fmt.Println(end, fl&jsonscan.Escaped != 0, code == jsonscan.OK)
	// Output: 11 true true
}

func ExampleSkip() {
	data := []byte(`{"meta":{"a":[1,2.5e3,"x"]},"price":1}`)
	i := len(`{"meta":`)
	end, code := jsonscan.Skip(data, i, 64)
	fmt.Println(string(data[i:end]), code == jsonscan.OK)
	end, code = jsonscan.Skip([]byte(`[1,]`), 0, 64)
	fmt.Println(end, code == jsonscan.BadValue)
	// Output:
	// {"a":[1,2.5e3,"x"]} true
	// 3 true
}
