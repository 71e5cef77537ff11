from caserun.domain.identity import SCHEME, identify, normalise_suite, split_parameters


def test_same_test_from_junit_and_pytest_node_id_has_one_identity() -> None:
    from_junit = identify("tests.test_cart.TestCart", "test_total[2-3]")
    from_nodeid = identify("tests/test_cart.py::TestCart", "test_total[2-3]")
    assert from_junit.key == from_nodeid.key
    assert from_junit.suite == "tests.test_cart.TestCart"
    assert from_junit.name == "test_total"
    assert from_junit.parameters == "2-3"


def test_parameters_distinguish_tests_and_whitespace_does_not() -> None:
    assert identify("s", "t[1]").key != identify("s", "t[2]").key
    assert identify("s", "t", "a=1").key == identify(" s ", "t", " a=1 ").key
    assert identify("s", "t").key != identify("s2", "t").key


def test_key_is_a_versioned_sha256() -> None:
    ident = identify("suite", "name")
    assert len(ident.key) == 64
    assert ident.scheme == SCHEME
    assert ident.full_name == "suite.name"


def test_normalisation_rules() -> None:
    assert normalise_suite("a/b\\c::D") == "a.b.c.D"
    assert normalise_suite("checkout › cart > total") == "checkout.cart.total"
    assert split_parameters("[weird]") == ("[weird]", "")
    assert split_parameters("plain") == ("plain", "")
