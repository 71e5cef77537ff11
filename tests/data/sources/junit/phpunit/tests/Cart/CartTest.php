<?php

declare(strict_types=1);

namespace Shop\Tests\Cart;

use PHPUnit\Framework\TestCase;
use Shop\Cart;

// A tiny suite whose JUnit XML report is a golden fixture for caserun's parser.
// Run only through scripts/regen-junit-fixtures.sh. Some tests fail on purpose.
final class CartTest extends TestCase
{
    public function testAddsUpPrices(): void
    {
        $this->assertSame(6.0, Cart::total([1.0, 2.0, 3.0]));
    }

    public function testAppliesADiscount(): void
    {
        $this->assertSame(13.0, Cart::total([10.0, 5.0], 0.1), 'discounted total');
    }

    public function testThrowsOnABadPrice(): void
    {
        Cart::parsePrice('EUR 3');
    }

    /** @dataProvider prices */
    public function testParsesPrice(string $text, float $expected): void
    {
        $this->assertSame($expected, Cart::parsePrice($text));
    }

    /** @return array<string, array{string, float}> */
    public function prices(): array
    {
        return [
            'dollar' => ['$1.50', 1.5],
            'plain' => ['2', 2.0],
            'rounded' => ['3.5', 3.0],
        ];
    }

    public function testWritesOutput(): void
    {
        echo "to stdout: hello\n";
        echo "[[ATTACHMENT|attachments/screenshot.png]]\n";
        $this->assertTrue(true);
    }
}
