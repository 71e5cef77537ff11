package shop;

import static org.junit.Assert.assertEquals;

import java.util.Arrays;
import java.util.Collection;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameters;

@RunWith(Parameterized.class)
public class PriceParsingTest {
    @Parameters(name = "{index}: parse({0}) = {1}")
    public static Collection<Object[]> data() {
        return Arrays.asList(new Object[][] {{"$1.50", 1.5}, {"2", 2.0}, {"3.5", 3.0}});
    }

    private final String text;
    private final double expected;

    public PriceParsingTest(String text, double expected) {
        this.text = text;
        this.expected = expected;
    }

    @Test
    public void parses() {
        assertEquals(expected, Cart.parsePrice(text), 1e-9);
    }
}
