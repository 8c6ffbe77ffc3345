"""Section 4: VAE theory, derived with sympy from the densities."""

from __future__ import annotations

import sympy as sp

z = sp.Symbol("z", real=True)
mu = sp.Symbol("mu", real=True)
sigma = sp.Symbol("sigma", positive=True)
log_var = sp.Symbol("ell", real=True)  # ell = log sigma^2, what the encoder outputs
eps = sp.Symbol("epsilon", real=True)


def normal_pdf(x, mean, std):
    return sp.exp(-((x - mean) ** 2) / (2 * std**2)) / (std * sp.sqrt(2 * sp.pi))


def kl_normal_standard() -> dict:
    """4.1: KL[N(mu, sigma^2) || N(0, 1)] = E_q[log q(z) - log p(z)], integrated over z."""
    q = normal_pdf(z, mu, sigma)
    p = normal_pdf(z, 0, 1)
    log_ratio = sp.expand(sp.expand_log(sp.log(q) - sp.log(p), force=True))
    kl = sp.simplify(sp.integrate(q * log_ratio, (z, -sp.oo, sp.oo)))
    # The conventional form, checked equal to what the integral gave.
    target = (mu**2 + sigma**2 - 1 - sp.log(sigma**2)) / 2
    if sp.simplify(sp.expand_log(kl - target, force=True)) != 0:
        raise ArithmeticError(f"KL integral gave {kl}, not {target}")
    in_log_var = sp.simplify(target.subs(sigma, sp.exp(log_var / 2)))
    return {
        "q_latex": sp.latex(q),
        "p_latex": sp.latex(p),
        "log_ratio_latex": sp.latex(log_ratio),
        "integral_latex": sp.latex(sp.simplify(kl)),
        "kl": str(target),
        "kl_latex": sp.latex(target),
        "kl_log_var": str(in_log_var),
        "kl_log_var_latex": sp.latex(in_log_var),
    }


def reparameterisation() -> dict:
    """4.2: z = mu + exp(ell/2) * eps and its derivatives, which are what backprop needs."""
    sample = mu + sp.exp(log_var / 2) * eps
    return {
        "sample_latex": sp.latex(sample),
        "dz_dmu_latex": sp.latex(sp.diff(sample, mu)),
        "dz_dlogvar_latex": sp.latex(sp.simplify(sp.diff(sample, log_var))),
        "sigma_from_log_var_latex": sp.latex(sp.exp(log_var / 2)),
    }


def bernoulli_reconstruction() -> dict:
    """4.3: -(1/L) sum_l log p(x|z_l) with x|z ~ prod_d Bernoulli(y_d(z))."""
    x_d, y_d = sp.symbols("x_d y_d", positive=True)
    pmf = y_d**x_d * (1 - y_d) ** (1 - x_d)
    log_pmf = sp.expand_log(sp.log(pmf), force=True)
    L, D = sp.symbols("L D", integer=True, positive=True)
    l, d = sp.symbols("l d", integer=True, positive=True)
    x = sp.IndexedBase("x")
    y = sp.IndexedBase("y")
    term = x[d] * sp.log(y[l, d]) + (1 - x[d]) * sp.log(1 - y[l, d])
    if sp.simplify(term - log_pmf.subs({x_d: x[d], y_d: y[l, d]})) != 0:
        raise ArithmeticError("the typeset term differs from the derived log-pmf")
    loss = -sp.Sum(sp.Sum(term, (d, 1, D)), (l, 1, L)) / L
    term_tex = sp.latex(term, order="none")
    return {
        "pmf_latex": sp.latex(pmf),
        "log_pmf": str(log_pmf),
        "log_pmf_latex": sp.latex(log_pmf, order="none"),
        "loss": str(loss),
        "loss_latex": rf"-\frac{{1}}{{L}} \sum_{{l=1}}^{{L}} \sum_{{d=1}}^{{D}} \left[{term_tex}\right]",
    }


def derive() -> dict:
    return {
        "kl": kl_normal_standard(),
        "reparameterisation": reparameterisation(),
        "bernoulli": bernoulli_reconstruction(),
    }
