<?php

declare(strict_types=1);

namespace Shop;

final class Cart
{
    /** @param float[] $prices */
    public static function total(array $prices, float $discount = 0.0): float
    {
        return array_sum($prices) * (1 - $discount);
    }

    public static function parsePrice(string $text): float
    {
        $clean = ltrim(trim($text), '$');
        if (!is_numeric($clean)) {
            throw new \InvalidArgumentException("not a price: {$text}");
        }
        return (float) $clean;
    }
}
