// jest-junit calls this for every test case; what it returns becomes <properties>.
module.exports = (testResult) => {
  if (testResult.title === 'adds up prices') {
    return { requirement: 'REQ-101', owner: 'team-payments' };
  }
  return {};
};
