package evidence

import (
	"math"
	"slices"
)

// Interval is a confidence interval.
type Interval struct {
	Low  float64 `json:"low"`
	High float64 `json:"high"`
}

// wilson is the Wilson score interval of a proportion hits/n at normal quantile z; nil for n = 0.
func wilson(hits, n int, z float64) *Interval {
	if n == 0 {
		return nil
	}
	fn := float64(n)
	p := float64(hits) / fn
	z2 := z * z
	d := 1 + z2/fn
	c := (p + z2/(2*fn)) / d
	h := z / d * math.Sqrt(p*(1-p)/fn+z2/(4*fn*fn))
	return &Interval{max(c-h, 0), min(c+h, 1)}
}

// normalQuantile returns the z with P(Z <= z) = p.
func normalQuantile(p float64) float64 { return math.Sqrt2 * math.Erfinv(2*p-1) }

// tQuantile returns the t with P(T <= t) = p for Student's t with df degrees of freedom (p >= 0.5),
// by bisection on the distribution function: slow next to a closed form, but exact to the last
// few bits and called a few hundred times a report.
func tQuantile(p, df float64) float64 {
	if df > 1e7 {
		return normalQuantile(p)
	}
	lo, hi := 0.0, 1.0
	for tCDF(hi, df) < p {
		hi *= 2
		if hi > 1e12 {
			return math.Inf(1)
		}
	}
	for range 200 {
		mid := (lo + hi) / 2
		if mid == lo || mid == hi {
			break
		}
		if tCDF(mid, df) < p {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// tCDF is Student's t distribution function at t >= 0.
func tCDF(t, df float64) float64 {
	return 1 - 0.5*betaInc(df/2, 0.5, df/(df+t*t))
}

// betaInc is the regularized incomplete beta function I_x(a, b), by its continued fraction
// (modified Lentz).
func betaInc(a, b, x float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	front := math.Exp(lab - la - lb + a*math.Log(x) + b*math.Log1p(-x))
	if x < (a+1)/(a+b+2) {
		return front * betaCF(a, b, x) / a
	}
	return 1 - front*betaCF(b, a, 1-x)/b
}

func betaCF(a, b, x float64) float64 {
	const tiny = 1e-300
	qab, qap, qam := a+b, a+1, a-1
	c, d := 1.0, 1-qab*x/qap
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	h := d
	for m := 1; m <= 300; m++ {
		fm := float64(m)
		m2 := 2 * fm
		aa := fm * (b - fm) * x / ((qam + m2) * (a + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		h *= d * c
		aa = -(a + fm) * (qab + fm) * x / ((a + m2) * (qap + m2))
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		del := d * c
		h *= del
		if math.Abs(del-1) < 1e-15 {
			break
		}
	}
	return h
}

// moments returns the mean and the sample variance (n − 1) of v.
func moments(v []float64) (mean, variance float64) {
	if len(v) == 0 {
		return 0, 0
	}
	var s float64
	for _, x := range v {
		s += x
	}
	mean = s / float64(len(v))
	if len(v) < 2 {
		return mean, 0
	}
	var ss float64
	for _, x := range v {
		d := x - mean
		ss += d * d
	}
	return mean, ss / float64(len(v)-1)
}

// median of v, which it sorts.
func median(v []float64) float64 {
	n := len(v)
	if n == 0 {
		return 0
	}
	slices.Sort(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// meanInterval is the Student t interval of the mean; nil below two values.
func meanInterval(mean, variance float64, n int, conf float64) *Interval {
	if n < 2 {
		return nil
	}
	h := tQuantile(0.5+conf/2, float64(n-1)) * math.Sqrt(variance/float64(n))
	return &Interval{mean - h, mean + h}
}

// welch is Welch's interval of the difference of two means; nil when either side has fewer than
// two values.
func welch(m1, v1 float64, n1 int, m2, v2 float64, n2 int, conf float64) *Interval {
	if n1 < 2 || n2 < 2 {
		return nil
	}
	a, b := v1/float64(n1), v2/float64(n2)
	d := m1 - m2
	se2 := a + b
	if se2 == 0 {
		return &Interval{d, d}
	}
	df := se2 * se2 / (a*a/float64(n1-1) + b*b/float64(n2-1))
	h := tQuantile(0.5+conf/2, df) * math.Sqrt(se2)
	return &Interval{d - h, d + h}
}
