package shop;

import java.util.List;

public final class Cart {
    private Cart() {}

    public static double total(List<Double> prices, double discount) {
        double sum = 0;
        for (double p : prices) {
            sum += p;
        }
        return sum * (1 - discount);
    }

    public static double parsePrice(String text) {
        return Double.parseDouble(text.trim().replaceFirst("^\\$", ""));
    }
}
