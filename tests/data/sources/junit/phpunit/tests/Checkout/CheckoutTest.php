<?php

declare(strict_types=1);

namespace Shop\Tests\Checkout;

use PHPUnit\Framework\TestCase;

final class CheckoutTest extends TestCase
{
    public function testSupportsCurrencies(): void
    {
        $this->markTestSkipped('currencies are not implemented yet');
    }

    public function testRoundsToCents(): void
    {
        $this->markTestIncomplete('rounding is not written yet');
    }

    public function testChargesTheCard(): void
    {
        $this->assertStringEndsWith('1111', '4111111111111111');
    }

    public function testHasNoAssertions(): void
    {
    }
}
