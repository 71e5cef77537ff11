@cart
Feature: Shopping cart
  A customer fills a cart and pays for it.

  Background:
    Given an empty cart

  Scenario: Adding items updates the total
    When I add 3 "apple" at 120 cents
    And I add 1 "pear" at 80 cents
    Then the total is 440 cents
    And a receipt screenshot is attached

  Scenario: Discount is applied to the total
    When I add 1 "cheese" at 2000 cents
    And I apply a 10% discount
    Then the total is 1800 cents

  Scenario Outline: Totals scale with quantity
    When I add <qty> "cheese" at 250 cents
    Then the total is <total> cents

    Examples: whole wheels
      | qty | total |
      | 1   | 250   |
      | 4   | 1000  |

  @wip
  Scenario: Gift wrapping
    When I ask for gift wrapping
    Then the wrapping fee is 150 cents

  Scenario: Loyalty points are earned
    When I add 1 "bread" at 300 cents
    Then I earn 3 loyalty points

  Scenario: Paying with a voucher
    When I pay with voucher "SPRING"
    Then the total is 0 cents

  @flaky
  Scenario: Payment gateway answers on retry
    When I add 1 "milk" at 99 cents
    Then the payment gateway accepts the payment
